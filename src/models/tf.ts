/**
 * TensorFlow.js (layers API on the pure-JavaScript CPU backend), loaded so that it also works inside
 * the compiled binary. `bun build --compile` drops modules imported only for their side effects
 * (the CPU backend's kernel registration, core's platform and flags, the gradients, the chained tensor
 * methods that layers call): importing them as namespaces and touching those keeps them, and the
 * backend is then set explicitly. Measured and explained in docs/models.md.
 */
import * as tf from "@tensorflow/tfjs-core";
import * as coreSideEffects from "@tensorflow/tfjs-core/dist/base_side_effects";
import * as gradients from "@tensorflow/tfjs-core/dist/register_all_gradients";
import * as chainedOps from "@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops";
import * as cpuBackend from "@tensorflow/tfjs-backend-cpu/dist/base";
import * as cpuKernels from "@tensorflow/tfjs-backend-cpu/dist/register_all_kernels";
import * as layersFlags from "@tensorflow/tfjs-layers/dist/flags_layers";
import * as tfl from "@tensorflow/tfjs-layers";

const KEEP = [coreSideEffects, gradients, chainedOps, cpuBackend, cpuKernels, layersFlags];

let ready = false;

/** The CPU backend, set once; PROD also silences tfjs's console hints (stdout stays ours). */
export async function tfReady(): Promise<{ tf: typeof tf; tfl: typeof tfl }> {
  if (!ready) {
    if (KEEP.length !== 6) throw new Error("tfjs modules missing");
    tf.env().set("PROD", true);
    if (!(await tf.setBackend("cpu"))) throw new Error("tfjs: the cpu backend could not be set");
    ready = true;
  }
  return { tf, tfl };
}
