// Mocha reporter: the usual spec output, plus a JSON summary file when EM_LAB_TEST_SUMMARY names one,
// so .ci/run can add up the counts of every suite it runs.
const Mocha = require('mocha');
const fs = require('node:fs');
const { EVENT_RUN_END } = Mocha.Runner.constants;

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(EVENT_RUN_END, () => {
      const out = process.env.EM_LAB_TEST_SUMMARY;
      if (!out) return;
      const s = runner.stats || {};
      fs.writeFileSync(out, JSON.stringify({ suite: process.env.EM_LAB_TEST_SUITE || 'unit', passed: s.passes || 0, failed: s.failures || 0, pending: s.pending || 0 }) + '\n');
    });
  }
}
module.exports = SummaryReporter;
