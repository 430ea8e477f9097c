/** A logger that drops everything, for the workflow bundler and replayer in tests. */
export const quietLogger = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
