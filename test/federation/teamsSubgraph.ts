/**
 * A second, separate subgraph for the supergraph test: `teams`, owned by "another team". It only
 * references `CallCenterInstance` by key (`resolvable: false`): everything else about an instance
 * comes from ccc-reports through the router's `_entities` fetch.
 */
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';

export const TEAMS_SDL = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])

  type Query {
    teams: [Team!]!
  }

  type Team {
    id: ID!
    name: String!
    callCenter: CallCenterInstance!
  }

  type CallCenterInstance @key(fields: "id", resolvable: false) {
    id: ID!
  }
`;

export interface TeamRecord {
  id: string;
  name: string;
  callCenterId: string;
}

/** 50 teams over 10 instances: team-N uses ccc-sim-((N-1) % 10 + 1), so 5 teams share each instance. */
export function makeTeams(count = 50, instances = 10): TeamRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `team-${i + 1}`,
    name: `Team ${i + 1}`,
    callCenterId: `ccc-sim-${(i % instances) + 1}`,
  }));
}

export interface TeamsSubgraph {
  url: string;
  sdl: string;
  teams: TeamRecord[];
  /** Operations the subgraph executed (the router's fetches). */
  requests: number;
  close(): Promise<void>;
}

export async function startTeamsSubgraph(teams: TeamRecord[] = makeTeams()): Promise<TeamsSubgraph> {
  const schema = buildSubgraphSchema([
    {
      typeDefs: parse(TEAMS_SDL),
      resolvers: {
        Query: { teams: () => teams },
        Team: { callCenter: (team: TeamRecord) => ({ __typename: 'CallCenterInstance', id: team.callCenterId }) },
      },
    },
  ]);
  const subgraph: TeamsSubgraph = {
    url: '',
    sdl: TEAMS_SDL,
    teams,
    requests: 0,
    close: () => server.stop(),
  };
  const server = new ApolloServer({
    schema,
    plugins: [
      {
        async requestDidStart() {
          subgraph.requests++;
        },
      },
    ],
  });
  const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
  subgraph.url = url;
  return subgraph;
}
