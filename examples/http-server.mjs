// Training inside an HTTP server with fitInWorker: the training runs in a worker thread, so the
// server keeps answering while it trains.
//   POST /train     starts a training run (409 while one runs)
//   GET  /progress  the latest epoch event as JSON
//   POST /abort     cancels the run (its result rejects with an AbortError)
//   POST /predict   body: 64 comma-separated pixel values (0-16) -> the predicted digit
//
//   node http-server.mjs          then: curl -X POST localhost:3000/train; curl localhost:3000/progress
// EXAMPLE_QUICK=1 starts the server on a free port, drives it itself (train, watch, abort, train
// again to the end, predict) and exits: what CI runs.
import http from 'node:http';
import * as ng from 'nodegrad';

const quick = process.env.EXAMPLE_QUICK === '1';
ng.manualSeed(0);
// shareDataset puts the data in shared memory once, so each run starts without copying it.
const { train, validation, test } = ng.trainValTestSplit(ng.loadDigits(), { validation: 0.1, test: 0.2, seed: 42 });
const shared = { train: ng.shareDataset(train), validation: ng.shareDataset(validation) };
const model = ng.nn.mlp(64, [128, 64], 10);

let job = null;
let controller = null;
let lastEpoch = null;
let status = 'idle';

function startTraining(epochs) {
  controller = new AbortController();
  lastEpoch = null;
  status = 'training';
  job = ng.fitInWorker(model, {
    ...shared,
    epochs,
    batchSize: 32,
    optimizer: { type: 'adam', lr: 3e-3 },
    signal: controller.signal,
  });
  job.on('epoch', (e) => {
    lastEpoch = { epoch: e.epoch, epochs: e.epochs, loss: e.loss, valAccuracy: e.valAccuracy };
  });
  job.result.then(
    ({ stateDict }) => {
      model.loadStateDict(stateDict); // the served model changes only when a run completes
      status = 'done';
    },
    (err) => {
      status = err instanceof ng.AbortError ? 'aborted' : `failed: ${err.message}`;
    },
  );
  return job;
}

function send(res, code, body) {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const server = http.createServer(async (req, res) => {
  let body = '';
  for await (const chunk of req) body += chunk;
  const url = new URL(req.url, 'http://localhost');
  const route = `${req.method} ${url.pathname}`;
  if (route === 'POST /train') {
    if (status === 'training') return send(res, 409, { error: 'a run is in progress' });
    startTraining(Number(url.searchParams.get('epochs')) || 20);
    return send(res, 202, { status });
  }
  if (route === 'GET /progress') return send(res, 200, { status, lastEpoch });
  if (route === 'POST /abort') {
    controller?.abort();
    return send(res, 200, { status: 'aborting' });
  }
  if (route === 'POST /predict') {
    const pixels = body.split(',').map(Number);
    if (pixels.length !== 64 || pixels.some((v) => !Number.isFinite(v)))
      return send(res, 400, { error: 'expected 64 comma-separated numbers' });
    const x = new ng.Tensor(Float32Array.from(pixels, (v) => v / 16), [1, 64]); // loadDigits scales by 1/16
    return send(res, 200, { digit: ng.predictClasses(model, x)[0] });
  }
  send(res, 404, { error: `no route ${route}` });
});

if (!quick) {
  server.listen(3000, () => console.log('listening on http://localhost:3000'));
} else {
  // The self-test: every route, over real HTTP.
  server.listen(0, async () => {
    const base = `http://localhost:${server.address().port}`;
    const call = async (method, path, body) => (await fetch(base + path, { method, body })).json();
    console.log('POST /train', await call('POST', '/train?epochs=200'));
    while ((await call('GET', '/progress')).lastEpoch === null) await new Promise((r) => setTimeout(r, 20));
    console.log('GET /progress', await call('GET', '/progress'));
    console.log('POST /abort', await call('POST', '/abort'));
    await job.result.catch(() => {});
    console.log('after abort', await call('GET', '/progress'));
    await call('POST', '/train?epochs=3');
    await job.result;
    console.log('after a full run', await call('GET', '/progress'));
    const row = Array.from(test.x.subarray(0, 64), (v) => v * 16).join(',');
    console.log(`POST /predict (true label ${test.y[0]})`, await call('POST', '/predict', row));
    server.close();
  });
}
