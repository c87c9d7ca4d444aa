/**
 * Where a WebSocket connection's bearer token is read from: what browsers (graphql-ws
 * `connectionParams`), Apollo Router (`{ connectionParams: { token: "Bearer ..." } }` plus the
 * upgrade request's header) and other routers send.
 */
import type http from 'node:http';
import { bearerOf } from '../../src/server/subscriptions/webSocketServer';

const upgrade = (authorization?: string) => ({ headers: authorization ? { authorization } : {} }) as http.IncomingMessage;

describe('bearerOf', () => {
  it('reads connection_init authorization first, in either spelling', () => {
    expect(bearerOf({ authorization: 'Bearer a' }, upgrade('Bearer header'))).toBe('Bearer a');
    expect(bearerOf({ Authorization: 'Bearer b' }, upgrade())).toBe('Bearer b');
  });

  it('adds the scheme to a bare token once, never twice', () => {
    expect(bearerOf({ token: 'abc' }, upgrade())).toBe('Bearer abc');
    expect(bearerOf({ token: 'Bearer abc' }, upgrade())).toBe('Bearer abc');
    expect(bearerOf({ token: 'bearer abc' }, upgrade())).toBe('bearer abc');
  });

  it("reads Apollo Router's nested connectionParams", () => {
    expect(bearerOf({ connectionParams: { token: 'Bearer r' } }, upgrade())).toBe('Bearer r');
    expect(bearerOf({ connectionParams: { authorization: 'Bearer s' } }, upgrade())).toBe('Bearer s');
    expect(bearerOf({ connectionParams: 'not an object' }, upgrade('Bearer h'))).toBe('Bearer h');
  });

  it("falls back to the upgrade request's Authorization header, and to nothing", () => {
    expect(bearerOf({}, upgrade('Bearer h'))).toBe('Bearer h');
    expect(bearerOf(undefined, upgrade())).toBeUndefined();
    expect(bearerOf({ token: '' }, upgrade())).toBeUndefined();
  });
});
