import type { ApiHandler, BrokerServices } from './api-handler.ts';
import type { JoinGroupRequest, SyncGroupRequest } from './consumer-groups.ts';
import { ErrorCode, type ErrorCodeValue } from './error-codes.ts';
import { ProtocolWriter } from './protocol-writer.ts';

/** JoinGroup v5 (member id required first, KIP-394). */
export function joinGroup(services: BrokerServices): ApiHandler<JoinGroupRequest> {
  return {
    decode: (reader, header) => ({
      groupId: reader.readString(),
      sessionTimeoutMs: reader.readInt32(),
      rebalanceTimeoutMs: reader.readInt32(),
      memberId: reader.readString(),
      groupInstanceId: reader.readNullableString(),
      protocolType: reader.readString(),
      protocols: reader.readArray((p) => ({ name: p.readString(), metadata: Buffer.from(p.readBytes()) })),
      clientId: header.clientId,
      requireKnownMemberId: header.apiVersion >= 4,
    }),
    handle: async (request, { connection }) => {
      const result = await services.groups.join(request);
      // The rebalance may have outlived the connection that asked; nobody is left to answer.
      if (connection.isClosed) return null;
      return new ProtocolWriter()
        .int32(0)
        .int16(result.errorCode)
        .int32(result.generationId)
        .string(result.protocolName ?? '')
        .string(result.leaderId)
        .string(result.memberId)
        .array(result.members, (w, member) => w.string(member.memberId).string(member.groupInstanceId).bytes(member.metadata));
    },
  };
}

/** SyncGroup v3: the leader's assignment is passed through untouched. */
export function syncGroup(services: BrokerServices): ApiHandler<SyncGroupRequest> {
  return {
    decode: (reader) => {
      const groupId = reader.readString();
      const generationId = reader.readInt32();
      const memberId = reader.readString();
      reader.readNullableString(); // group instance id: static membership is not implemented
      const assignments = reader.readArray((a) => ({ memberId: a.readString(), assignment: Buffer.from(a.readBytes()) }));
      return { groupId, generationId, memberId, assignments };
    },
    handle: async (request, { connection }) => {
      const result = await services.groups.sync(request);
      if (connection.isClosed) return null;
      return new ProtocolWriter().int32(0).int16(result.errorCode).bytes(result.assignment);
    },
  };
}

interface HeartbeatRequest {
  groupId: string;
  generationId: number;
  memberId: string;
}

/** Heartbeat v3. */
export function heartbeat(services: BrokerServices): ApiHandler<HeartbeatRequest> {
  return {
    decode: (reader) => {
      const request = { groupId: reader.readString(), generationId: reader.readInt32(), memberId: reader.readString() };
      reader.readNullableString(); // group instance id
      return request;
    },
    handle: (request) =>
      new ProtocolWriter().int32(0).int16(services.groups.heartbeat(request.groupId, request.generationId, request.memberId)),
  };
}

interface LeaveGroupRequest {
  groupId: string;
  members: { memberId: string; groupInstanceId: string | null }[];
}

/** LeaveGroup v3 (batch of members, KIP-345). */
export function leaveGroup(services: BrokerServices): ApiHandler<LeaveGroupRequest> {
  return {
    decode: (reader) => ({
      groupId: reader.readString(),
      members: reader.readArray((m) => ({ memberId: m.readString(), groupInstanceId: m.readNullableString() })),
    }),
    handle: (request) => {
      const errorCodes = services.groups.leave(
        request.groupId,
        request.members.map((member) => member.memberId),
      );
      return new ProtocolWriter()
        .int32(0)
        .int16(ErrorCode.none)
        .array(request.members, (w, member) => {
          const index = request.members.indexOf(member);
          w.string(member.memberId).string(member.groupInstanceId).int16(errorCodes[index] ?? ErrorCode.unknownMemberId);
        });
    },
  };
}

interface OffsetCommitRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  topics: { name: string; partitions: { partition: number; offset: number; metadata: string | null }[] }[];
}

/** OffsetCommit v5. */
export function offsetCommit(services: BrokerServices): ApiHandler<OffsetCommitRequest> {
  return {
    decode: (reader) => ({
      groupId: reader.readString(),
      generationId: reader.readInt32(),
      memberId: reader.readString(),
      topics: reader.readArray((t) => ({
        name: t.readString(),
        partitions: t.readArray((p) => ({
          partition: p.readInt32(),
          offset: p.readInt64AsNumber(),
          metadata: p.readNullableString(),
        })),
      })),
    }),
    handle: (request) => {
      const groupError = services.groups.authorizeCommit(request.groupId, request.generationId, request.memberId);
      return new ProtocolWriter().int32(0).array(request.topics, (w, topic) => {
        w.string(topic.name).array(topic.partitions, (pw, p) => {
          let errorCode: ErrorCodeValue = groupError;
          if (errorCode === ErrorCode.none && !services.topics.partition(topic.name, p.partition)) {
            errorCode = ErrorCode.unknownTopicOrPartition;
          }
          if (errorCode === ErrorCode.none) {
            services.groups.commit(request.groupId, topic.name, p.partition, { offset: p.offset, metadata: p.metadata });
          }
          pw.int32(p.partition).int16(errorCode);
        });
      });
    },
  };
}

interface OffsetFetchRequest {
  groupId: string;
  topics: { name: string; partitions: number[] }[] | null;
}

/** OffsetFetch v4; a null topic list asks for everything the group committed. */
export function offsetFetch(services: BrokerServices): ApiHandler<OffsetFetchRequest> {
  return {
    decode: (reader) => ({
      groupId: reader.readString(),
      topics: reader.readNullableArray((t) => ({ name: t.readString(), partitions: t.readArray((p) => p.readInt32()) })),
    }),
    handle: (request) => {
      const topics =
        request.topics ??
        services.groups.committedTopics(request.groupId).map(({ topic, partitions }) => ({ name: topic, partitions }));
      return new ProtocolWriter()
        .int32(0)
        .array(topics, (w, topic) => {
          w.string(topic.name).array(topic.partitions, (pw, partition) => {
            const committed = services.groups.committedOffset(request.groupId, topic.name, partition);
            pw.int32(partition)
              .int64(committed?.offset ?? -1)
              .string(committed ? committed.metadata : '')
              .int16(ErrorCode.none);
          });
        })
        .int16(ErrorCode.none);
    },
  };
}
