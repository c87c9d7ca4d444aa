/**
 * Cache and upstream facts of an operation in `extensions.gateway`, only when the caller sends
 * `x-gateway-debug: 1`: useful to see why an operation was slow, never noise by default.
 *
 * Only where the explorer is on (development), or for a token carrying `gateway_debug: true`:
 * the facts tell an outsider what is cached and what upstream costs, which is reconnaissance in
 * production, so there the header is ignored for everyone else.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import type { GatewayContext } from '../graphql/context';

export const DEBUG_HEADER = 'x-gateway-debug';

export function debugExtensionsPlugin(options: { allowEveryone: boolean }): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart({ request, contextValue }) {
      if (request.http?.headers.get(DEBUG_HEADER) !== '1') return;
      if (!options.allowEveryone && !contextValue.principal.debug) return;
      return {
        async willSendResponse({ response, contextValue }) {
          if (response.body.kind !== 'single') return;
          const { trace } = contextValue;
          response.body.singleResult.extensions = {
            ...response.body.singleResult.extensions,
            gateway: { requestId: contextValue.requestId, ...trace },
          };
        },
      };
    },
  };
}
