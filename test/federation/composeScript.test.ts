/** `npm run compose`: the supergraph composed from SDL files, without rover. */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/config/paths';
import { TEAMS_SDL } from './teamsSubgraph';

const script = join(PROJECT_ROOT, 'scripts', 'compose-supergraph.js');

describe('compose-supergraph', () => {
  it('composes this subgraph with a peer into a supergraph the router can load', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'compose-')), 'teams');
    mkdirSync(dir);
    writeFileSync(join(dir, 'schema.graphql'), TEAMS_SDL);
    const supergraph = execFileSync(
      process.execPath,
      [script, `${join(PROJECT_ROOT, 'schema', 'schema.graphql')}=http://ccc-reports:4000/graphql`, `${join(dir, 'schema.graphql')}=http://teams:4001/graphql`],
      { encoding: 'utf8' },
    );
    expect(supergraph).toMatch(/CCC_REPORTS @join__graph\(name: "ccc-reports", url: "http:\/\/ccc-reports:4000\/graphql"\)/);
    expect(supergraph).toMatch(/TEAMS @join__graph\(name: "teams", url: "http:\/\/teams:4001\/graphql"\)/);
    expect(supergraph).toMatch(/type CallCenterInstance\s+@join__type\(graph: CCC_REPORTS, key: "id"\)/);
  });

  it('fails with the composition errors when the subgraphs do not compose', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'compose-')), 'broken');
    mkdirSync(dir);
    // A second, incompatible definition of a field both subgraphs own.
    writeFileSync(join(dir, 'schema.graphql'), 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])\ntype Query { callCenterInstance(id: ID!): Int }');
    const run = spawnSync(process.execPath, [script, `${join(PROJECT_ROOT, 'schema', 'schema.graphql')}=http://a/graphql`, `${join(dir, 'schema.graphql')}=http://b/graphql`], { encoding: 'utf8' });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^error: /m);
    expect(run.stdout).toBe('');
  });
});
