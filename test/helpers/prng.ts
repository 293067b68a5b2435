export { prng } from "../../src/util/prng.ts";
