/**
 * The text of types/harvestd-indicator.d.ts, built into the executable, for `harvestd indicator-types`:
 * a user on a server without the repository can still get the types for their editor.
 */
// @ts-expect-error -- a text import of a declaration file: TypeScript wants `import type`, Bun embeds the text.
import text from "../../types/harvestd-indicator.d.ts" with { type: "text" };

export const INDICATOR_TYPES_TEXT: string = text as unknown as string;
