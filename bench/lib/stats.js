'use strict';
// The few statistics the bench reports.

function sorted(values) {
  return [...values].sort((a, b) => a - b);
}

/** The p-th percentile (0..100), nearest rank. */
function percentile(values, p) {
  if (values.length === 0) return NaN;
  const s = sorted(values);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

function median(values) {
  if (values.length === 0) return NaN;
  const s = sorted(values);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

const round = (value, digits = 0) => (Number.isFinite(value) ? Number(value.toFixed(digits)) : value);

module.exports = { percentile, median, round };
