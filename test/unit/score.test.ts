/** Litmus scores: PSP and the weighted resilience score. */
import { probeSuccessPercentage, resilienceScore } from '../../workflows/score.js';

test('PSP is floor(passed * 100 / total); no probes counts as 100', () => {
  expect(probeSuccessPercentage(2, 3)).toBe(66);
  expect(probeSuccessPercentage(1, 3)).toBe(33);
  expect(probeSuccessPercentage(3, 3)).toBe(100);
  expect(probeSuccessPercentage(0, 4)).toBe(0);
  expect(probeSuccessPercentage(0, 0)).toBe(100);
});

test('resilience score = Σ(weight × PSP) / Σ weight', () => {
  expect(
    resilienceScore([
      { name: 'a', weight: 10, probeSuccessPercentage: 100 },
      { name: 'b', weight: 5, probeSuccessPercentage: 40 },
    ]),
  ).toBeCloseTo((10 * 100 + 5 * 40) / 15);
  expect(resilienceScore([{ name: 'a', weight: 0, probeSuccessPercentage: 100 }])).toBe(0);
  expect(resilienceScore([])).toBe(0);
  // a weight-0 run does not move the score
  expect(
    resilienceScore([
      { name: 'a', weight: 10, probeSuccessPercentage: 80 },
      { name: 'b', weight: 0, probeSuccessPercentage: 0 },
    ]),
  ).toBe(80);
});

test('bad weights or PSPs are refused by name', () => {
  expect(() => resilienceScore([{ name: 'run-1', weight: -1, probeSuccessPercentage: 50 }])).toThrow('weight of run-1 must be >= 0 (got -1)');
  expect(() => resilienceScore([{ name: 'run-2', weight: 1, probeSuccessPercentage: 150 }])).toThrow('PSP of run-2 must be 0..100 (got 150)');
});
