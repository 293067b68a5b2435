/** Symbols are upper-case letters and digits (e.g. `1000PEPEUSDT`): they name folders and streams. */
export const SYMBOL_PATTERN = /^[A-Z0-9]{2,30}$/;
