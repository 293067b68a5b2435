/** Preloaded by bunfig.toml: after the last test, the temp folders the tests made go. */
import { afterAll } from "bun:test";
import { removeTempDirs } from "./binary.ts";

afterAll(removeTempDirs);
