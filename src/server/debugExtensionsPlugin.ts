/**
 * Cache and upstream facts of an operation in `extensions.gateway`, only when the caller sends
 * `x-gateway-debug: 1`: useful to see why an operation was slow, never noise by default.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import type { GatewayContext } from '../graphql/context';

export const DEBUG_HEADER = 'x-gateway-debug';

export function debugExtensionsPlugin(): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart({ request }) {
      if (request.http?.headers.get(DEBUG_HEADER) !== '1') return;
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
