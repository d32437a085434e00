import type { BrokerActivity } from './broker-activity.ts';
import type { ClientConnection } from './client-connection.ts';
import type { GroupCoordinator } from './consumer-groups.ts';
import type { FaultPlan } from './fault-plan.ts';
import type { ProtocolReader } from './protocol-reader.ts';
import type { ProtocolWriter } from './protocol-writer.ts';
import type { TopicRegistry } from './topic-registry.ts';

export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string;
}

export interface RequestContext {
  header: RequestHeader;
  connection: ClientConnection;
}

/**
 * One API: decoding is separate from handling so the broker can check that the whole
 * request was consumed before acting on it (leftover bytes mean a schema mismatch).
 */
export interface ApiHandler<Request> {
  decode(reader: ProtocolReader, header: RequestHeader): Request;
  /** The response body, or null when the protocol says no response (Produce with acks=0). */
  handle(request: Request, context: RequestContext): Promise<ProtocolWriter | null> | ProtocolWriter | null;
}

export interface BrokerSettings {
  nodeId: number;
  host: string;
  clusterId: string;
  autoCreateTopics: boolean;
  defaultPartitions: number;
}

/** What the handlers share; lives as long as the broker, across restarts. */
export interface BrokerServices {
  settings: BrokerSettings;
  /** The bound port; read at request time because it is only known after listen(). */
  port(): number;
  topics: TopicRegistry;
  groups: GroupCoordinator;
  faults: FaultPlan;
  activity: BrokerActivity;
  /** Resolves pending long-polls with what they have when the broker stops. */
  onStop(listener: () => void): () => void;
}
