/**
 * Authentication at Apollo's context step, where it runs once per HTTP request, before parsing.
 *
 * Apollo answers an error thrown there with HTTP 500 and "Context creation failed: ..." unless it
 * is a GraphQLError; and the error formatter cannot unwrap it (no resolver path). So a rejected
 * token becomes a GraphQLError here, with code UNAUTHENTICATED, HTTP 401 and the
 * `WWW-Authenticate` challenge of RFC 6750 §3. Other failures (JWKS endpoint down) pass through
 * and end up as a logged INTERNAL_SERVER_ERROR.
 */
import { GraphQLError, type GraphQLErrorExtensions } from 'graphql';
import { GatewayError } from '../../reports/errors';
import type { Authenticator } from './Authenticator';
import type { Principal } from './principal';

export async function authenticateRequest(authenticator: Authenticator, authorizationHeader: string | undefined): Promise<Principal> {
  try {
    return await authenticator.authenticate(authorizationHeader);
  } catch (e) {
    if (e instanceof GatewayError && e.code === 'UNAUTHENTICATED') {
      // No token at all: a bare challenge; a bad one: error="invalid_token" (RFC 6750 §3.1).
      const challenge = authorizationHeader === undefined ? 'Bearer' : 'Bearer error="invalid_token"';
      // Apollo reads `http.headers` as a Map. The cast is for the type only: GraphQL Yoga (a bench
      // peer and the router test's runtime) augments the same extension with a Record type.
      const extensions = { code: 'UNAUTHENTICATED', http: { status: 401, headers: new Map([['www-authenticate', challenge]]) } };
      throw new GraphQLError(e.message, { extensions: extensions as unknown as GraphQLErrorExtensions });
    }
    throw e;
  }
}
