'use strict';
// Conformance driver for the Node client: runs client_calls.json, prints one JSON result per
// case: {"name", "lines": [sent lines except opened/closed], "error": string|null}.
const fs = require('fs');
const path = require('path');

const client = require(path.resolve(__dirname, '../../../pipes_client/node'));

const doc = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
// the shared context, with the case's own pipes_features (negotiated extensions) if any
const caseContext = (d, c) => ('pipes_features' in c ? { ...d.context, pipes_features: c.pipes_features } : d.context);
for (const c of doc.cases) {
  const lines = [];
  const capture = { open: () => ({ writeLine: (l) => lines.push(l), close: () => {} }), getOpenedExtras: () => ({}) };
  client.PipesContext.set(null);
  const pipes = client.openPipes({
    paramsLoader: new client.MappingParamsLoader({ DAGSTER_PIPES_CONTEXT: { data: caseContext(doc, c) }, DAGSTER_PIPES_MESSAGES: { stdio: 'stdout' } }),
    messageWriter: capture,
  });
  let error = null;
  try {
    for (const call of c.calls) {
      const a = call.args;
      const md = a.metadata ? Object.fromEntries(a.metadata.map(([n, t, v]) => [n, { type: t, raw_value: v }])) : null;
      if (call.call === 'log') pipes.log.log(a.level, a.message);
      else if (call.call === 'report_asset_materialization') pipes.reportAssetMaterialization({ metadata: md, dataVersion: a.data_version ?? null, assetKey: a.asset_key ?? null });
      else if (call.call === 'report_asset_check') pipes.reportAssetCheck({ checkName: a.check_name, passed: a.passed, severity: a.severity ?? 'ERROR', metadata: md, assetKey: a.asset_key ?? null });
      else if (call.call === 'report_custom_message') pipes.reportCustomMessage(a.payload);
      else throw new Error(`unknown call ${call.call}`);
    }
  } catch (err) {
    if (!(err instanceof client.PipesError)) throw err;
    error = err.message;
  }
  pipes.close();
  const sent = lines.filter((l) => !['opened', 'closed'].includes(JSON.parse(l).method));
  process.stdout.write(`${JSON.stringify({ name: c.name, lines: sent, error })}\n`);
}
