/**
 * Apollo Client 4 decides at load time whether it runs its development checks (among them the
 * "Cache data may be lost" warning): `globalThis.__DEV__ === true`, unless the bundler picks its
 * `development` export. Jest picks neither, so a test that asserts the absence of that warning
 * imports this module before `@apollo/client`.
 */
(globalThis as { __DEV__?: boolean }).__DEV__ = true;

export {};
