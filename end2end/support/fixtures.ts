// The one place specs take `test` from: today the plain Playwright test against the unauthenticated UI; once
// the admin login lands, a `page` that is signed in.
export { test, expect } from '@playwright/test';
export { adminURL } from './ports';
