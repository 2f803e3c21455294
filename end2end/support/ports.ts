// The ports the end-to-end gatehouse listens on, shared by the Playwright config and the tests.
// Below Linux's ephemeral range (32768-60999): a port in it can be held by any client socket of the test run
// (a PostgreSQL connection took 41338 once), and the UI then cannot listen.
export const guiPort = Number(process.env.GATEHOUSE_E2E_GUI_PORT ?? 21338);
// The Admin API, so tests can change the configuration behind the UI's back.
export const adminPort = Number(process.env.GATEHOUSE_E2E_ADMIN_PORT ?? 21801);
export const adminURL = `http://127.0.0.1:${adminPort}`;
