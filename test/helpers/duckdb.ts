/** DuckDB as the independent reader of what harvestd wrote. */
import { DuckDBInstance } from "@duckdb/node-api";

export async function query(sql: string): Promise<Record<string, unknown>[]> {
  const inst = await DuckDBInstance.create(":memory:");
  const conn = await inst.connect();
  try {
    const r = await conn.runAndReadAll(sql);
    return r.getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    conn.closeSync();
    inst.closeSync();
  }
}

/** `read_parquet` over a Hive tree, as a user would read it. */
export function hive(glob: string): string {
  return `read_parquet('${glob.replace(/'/g, "''")}', hive_partitioning = true, union_by_name = true)`;
}
