/**
 * `npm run test:faults`: the fault-injection suite (test/faults/) against the system's real processes. Not part of
 * `npm test`; CI runs it after. Same global setup (toolchain, a PostgreSQL and a dev server for the time-skipping
 * scenarios); each scenario file starts its own processes.
 */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test/faults'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  // One file at a time: every file runs a whole system of processes on a 2-core machine.
  maxWorkers: 1,
  testTimeout: 300000,
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
};
