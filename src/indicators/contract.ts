/**
 * The custom indicator contract (docs/indicators-custom.md). Users see these types through
 * types/harvestd-indicator.d.ts, the one definition, which is re-exported here for the host.
 */
import type { ColumnDef, ColumnType, CustomKind } from "../core/rows.ts";
import type { Indicator, IndicatorColumnType } from "../../types/harvestd-indicator.d.ts";

export type {
  Book,
  Disconnect,
  Emit,
  Indicator,
  IndicatorColumns,
  IndicatorColumnType,
  IndicatorContext,
  IndicatorHandlers,
  IndicatorRow,
  Level,
  Trade,
} from "../../types/harvestd-indicator.d.ts";

/** Indicator and column names: what a Hive `kind=` segment and a Parquet column may safely be. */
export const NAME_PATTERN = /^[a-z][a-z0-9_]*$/;
export const MAX_NAME_LENGTH = 48;
/** Added to every row by harvestd; a module may not declare them. */
export const RESERVED_COLUMNS: readonly string[] = ["symbol", "ts_ms"];

export const COLUMN_TYPES: Readonly<Record<IndicatorColumnType, ColumnType>> = { double: "f64", int64: "i64", string: "str", bool: "bool" };

/** A module that loaded and passed every check, ready to be instantiated per symbol. */
export interface LoadedIndicator {
  /** The configured name (`[[indicators.custom]] name`, else the module's own). */
  readonly name: string;
  readonly kind: CustomKind;
  /** Absolute path of the module file. */
  readonly file: string;
  readonly module: Indicator;
  /** Declared columns in order, with their Parquet types. */
  readonly columns: readonly { readonly name: string; readonly type: IndicatorColumnType }[];
  /** The kind's full schema: `symbol`, `ts_ms`, then the declared columns (all nullable). */
  readonly schema: readonly ColumnDef[];
  readonly params: Readonly<Record<string, unknown>>;
}

export const kindOf = (name: string): CustomKind => `custom_${name}`;
