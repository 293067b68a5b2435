/**
 * The user info of every URL in a text (`nats://user:password@host`) taken out, so a log line, an
 * error or a status never carries it. Greedy up to the last `@` before white space: a password with
 * an unescaped `@` or `/` would otherwise leave its tail behind, and hiding too much costs nothing.
 */
export function hideUserInfo(text: string, mark = "***@"): string {
  return text.replace(/\b([A-Za-z][A-Za-z0-9+.-]*:\/\/)\S*@/g, `$1${mark}`);
}
