import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import { forbiddenInstance } from '../../reports/errors';
import type { GatewayContext } from '../context';
import { ArchiveStatus } from '../types/ArchiveStatus';
import { CallCenterInstance } from '../types/CallCenterInstance';

/** `CallCenterInstance.archive`: a resolver of its own, so the archive's field lives with the archive. */
@Resolver(() => CallCenterInstance)
export class ArchiveResolver {
  @FieldResolver(() => ArchiveStatus, {
    nullable: true,
    description:
      'The archived span of this instance and the buckets missing in it; null when it was never archived (ARCHIVE_INSTANCES does not name it, or the archive has not reached it yet) ' +
      'or when the gateway runs without Redis and without an archive. An instance the token may not read: FORBIDDEN.',
  })
  async archive(@Root() instance: CallCenterInstance, @Ctx() ctx: GatewayContext): Promise<ArchiveStatus | null> {
    if (!ctx.principal.canRead(instance.id)) throw forbiddenInstance(instance.id);
    // The status moves with every archive pass: an answer holding it is never final (no immutable
    // Cache-Control, not kept by the response cache), whatever its report buckets are.
    ctx.trace.openSnapshotExpiresAt = Math.min(ctx.trace.openSnapshotExpiresAt, ctx.reports.now);
    return (await ctx.archive?.status(instance.id)) ?? null;
  }
}
