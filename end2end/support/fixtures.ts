// What every spec imports `test` and `expect` from, so shared fixtures (signing in) apply to all of them.
export { test, expect } from '@playwright/test';
