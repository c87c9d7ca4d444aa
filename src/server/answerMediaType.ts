/**
 * The media type of an answer, negotiated from the request's `Accept` as Apollo Server does
 * (`chooseContentTypeForSingleResultResponse`, not exported by @apollo/server): a stored answer
 * served without Apollo must carry the Content-Type Apollo would have given it. Apollo Client's
 * default `Accept: application/graphql-response+json,application/json;q=0.9` gets
 * `application/graphql-response+json`, and an Accept naming neither gets a 406 from Apollo, so a
 * cache hit must not answer it (null: let Apollo answer).
 */
import Negotiator from 'negotiator';

const APPLICATION_JSON = 'application/json; charset=utf-8';
/** Apollo's MEDIA_TYPES, in its order of preference. */
const MEDIA_TYPES = [APPLICATION_JSON, 'application/graphql-response+json; charset=utf-8', 'application/json; callbackSpec=1.0; charset=utf-8'];

export function answerContentType(accept: string | undefined): string | null {
  if (!accept) return APPLICATION_JSON;
  return new Negotiator({ headers: { accept } }).mediaType(MEDIA_TYPES) ?? null;
}
