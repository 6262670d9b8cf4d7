// A worker thread that runs two images on a TransformPool of its own, posts the workers' pids,
// and ends without closing the pool (see transform-pool.test.ts).
import { parentPort, workerData } from 'node:worker_threads'
import { TransformPool } from '../../src/transform/pool.js'
import { resolveTransformSpec } from '../../src/transform/spec.js'

const pool = new TransformPool({ workers: 2 })
const quick = resolveTransformSpec({ resize: 'keep-ratio', size: 64 })
await Promise.all([pool.transform(workerData, quick), pool.transform(workerData, quick)])
parentPort?.postMessage(pool.stats.pids)
