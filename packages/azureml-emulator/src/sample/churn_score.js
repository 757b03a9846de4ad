// Scoring module of the sample churn deployments: the local analogue of an Azure ML score.py. The
// emulator calls init(modelDir) once per job with the registered model version's files, then
// run(miniBatch) with local paths of up to miniBatchSize input files. Each CSV row becomes one output
// row: file, customer_id, churn probability, predicted label (0/1), model version. A row that cannot be
// scored fails the whole mini-batch, naming the file and line, as a Python scoring script would.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

let model;

function init(modelDir, context) {
  if (!modelDir) throw new Error('churn_score.js needs a model: deploy it with a registered model version.');
  model = JSON.parse(fs.readFileSync(path.join(modelDir, 'model.json'), 'utf8'));
  if (model.format !== 'batchpilot-logistic-regression/1') throw new Error(`model.json has the unknown format '${model.format}'`);
  const threshold = context && context.literals && context.literals.score_threshold;
  if (threshold !== undefined) model.threshold = Number(threshold);
}

const featureOf = {
  tenure_months: (row) => row.tenure_months,
  monthly_charges: (row) => row.monthly_charges,
  support_calls: (row) => row.support_calls,
  contract_month_to_month: (row) => (row.contract_type === 'month-to-month' ? 1 : 0),
  has_fiber: (row) => (row.internet_service === 'fiber' ? 1 : 0),
};
const numericColumns = ['tenure_months', 'monthly_charges', 'support_calls'];

function scoreRow(row) {
  let z = model.bias;
  model.features.forEach((feature, i) => {
    const x = featureOf[feature.name](row);
    z += model.weights[i] * ((x - feature.mean) / feature.std);
  });
  return 1 / (1 + Math.exp(-z));
}

function run(miniBatch) {
  const rows = [];
  for (const file of miniBatch) {
    const name = path.basename(file);
    // Folders may hold markers (_SUCCESS, manifests): only CSV files carry customers to score.
    if (!name.toLowerCase().endsWith('.csv')) continue;
    const lines = fs.readFileSync(file, 'utf8').split(/\r?\n/);
    const header = lines[0].split(',').map((h) => h.trim());
    for (const required of ['customer_id', ...numericColumns, 'contract_type', 'internet_service']) {
      if (!header.includes(required)) throw new Error(`${name}: the header lacks the column '${required}'`);
    }
    for (let n = 1; n < lines.length; n++) {
      if (!lines[n].trim()) continue;
      const cells = lines[n].split(',');
      const row = {};
      header.forEach((h, i) => (row[h] = (cells[i] ?? '').trim()));
      for (const column of numericColumns) {
        const value = Number(row[column]);
        if (row[column] === '' || !Number.isFinite(value)) throw new Error(`${name} line ${n + 1}: ${column} '${row[column]}' is not a number`);
        row[column] = value;
      }
      const probability = scoreRow(row);
      rows.push([name, row.customer_id, probability.toFixed(4), probability >= model.threshold ? 1 : 0, model.version]);
    }
  }
  return rows;
}

module.exports = { init, run };
