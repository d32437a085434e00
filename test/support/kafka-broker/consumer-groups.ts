import { randomUUID } from 'node:crypto';
import { ErrorCode, type ErrorCodeValue } from './error-codes.ts';

/**
 * The group coordinator: the classic (pre-KIP-848) rebalance protocol, modelled on Kafka's
 * GroupCoordinator. A group moves Empty -> PreparingRebalance (waiting for every member
 * to (re)join) -> CompletingRebalance (waiting for the leader's assignment in SyncGroup)
 * -> Stable, and back to PreparingRebalance whenever a member joins, leaves or goes silent.
 */

type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable';

export interface GroupProtocol {
  name: string;
  metadata: Buffer;
}

export interface JoinGroupRequest {
  groupId: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  memberId: string;
  groupInstanceId: string | null;
  protocolType: string;
  protocols: GroupProtocol[];
  clientId: string;
  /** JoinGroup v4+ clients must first ask for a member id (KIP-394). */
  requireKnownMemberId: boolean;
}

export interface JoinGroupResult {
  errorCode: ErrorCodeValue;
  generationId: number;
  protocolName: string | null;
  leaderId: string;
  memberId: string;
  members: { memberId: string; groupInstanceId: string | null; metadata: Buffer }[];
}

export interface SyncGroupRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  assignments: { memberId: string; assignment: Buffer }[];
}

export interface SyncGroupResult {
  errorCode: ErrorCodeValue;
  assignment: Buffer;
}

export interface CommittedOffset {
  offset: number;
  metadata: string | null;
}

export interface GroupCoordinatorOptions {
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  /** Kafka's group.initial.rebalance.delay.ms: lets several members join an empty group at once. */
  initialRebalanceDelayMs: number;
}

interface Member {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocols: GroupProtocol[];
  lastSeen: number;
  /** A parked JoinGroup; a member with one is alive until the rebalance ends. */
  awaitingJoin: ((result: JoinGroupResult) => void) | null;
  /** A parked SyncGroup waiting for the leader's assignment. */
  awaitingSync: ((result: SyncGroupResult) => void) | null;
  assignment: Buffer;
}

interface ConsumerGroup {
  groupId: string;
  state: GroupState;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leaderId: string | null;
  members: Map<string, Member>;
  /** Member ids handed out with MEMBER_ID_REQUIRED, until their owner joins with them. */
  pendingMembers: Map<string, number>;
  /** No rebalance completes before this (the initial delay of an empty group). */
  joinNotBefore: number;
  /** Members that have not rejoined by this time are removed from the group. */
  joinDeadline: number;
}

const EMPTY = Buffer.alloc(0);
const SWEEP_INTERVAL_MS = 20;

const failedJoin = (errorCode: ErrorCodeValue, memberId = ''): JoinGroupResult => ({
  errorCode,
  generationId: -1,
  protocolName: null,
  leaderId: '',
  memberId,
  members: [],
});

const sameProtocols = (a: GroupProtocol[], b: GroupProtocol[]): boolean =>
  a.length === b.length && a.every((protocol, i) => protocol.name === b[i]?.name && protocol.metadata.equals(b[i].metadata));

export class GroupCoordinator {
  private readonly groups = new Map<string, ConsumerGroup>();
  private readonly offsets = new Map<string, Map<string, Map<number, CommittedOffset>>>();
  private sweeper: NodeJS.Timeout | null = null;

  constructor(private readonly options: GroupCoordinatorOptions) {}

  /** Starts the clock that expires silent members and overdue rebalances. */
  start(): void {
    const now = Date.now();
    for (const group of this.groups.values()) {
      // Time stood still while the broker was down: give every member a full session again.
      for (const member of group.members.values()) member.lastSeen = now;
      if (group.state === 'PreparingRebalance') group.joinDeadline = now + this.rebalanceTimeout(group);
    }
    this.sweeper ??= setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  /**
   * Stops the clock and forgets parked JoinGroup/SyncGroup requests: their connections are
   * gone with the broker. Groups and committed offsets stay, as Kafka reloads them from
   * __consumer_offsets; members that were mid-rebalance simply have to join again.
   */
  stop(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    for (const group of this.groups.values()) {
      // Ids handed out with MEMBER_ID_REQUIRED may never have arrived; waiting for their
      // owners would hold up the next rebalance, and those clients will simply ask again.
      group.pendingMembers.clear();
      for (const member of group.members.values()) {
        member.awaitingJoin = null;
        member.awaitingSync = null;
      }
    }
  }

  join(request: JoinGroupRequest): Promise<JoinGroupResult> {
    if (request.groupId === '') return Promise.resolve(failedJoin(ErrorCode.invalidGroupId, request.memberId));
    if (
      request.sessionTimeoutMs < this.options.minSessionTimeoutMs ||
      request.sessionTimeoutMs > this.options.maxSessionTimeoutMs
    ) {
      return Promise.resolve(failedJoin(ErrorCode.invalidSessionTimeout, request.memberId));
    }
    let group = this.groups.get(request.groupId);
    if (!group) {
      if (request.memberId !== '') return Promise.resolve(failedJoin(ErrorCode.unknownMemberId, request.memberId));
      group = this.createGroup(request.groupId);
    }
    if (!this.supportsProtocols(group, request)) {
      return Promise.resolve(failedJoin(ErrorCode.inconsistentGroupProtocol, request.memberId));
    }

    if (request.memberId === '') {
      const memberId = `${request.clientId || 'member'}-${randomUUID()}`;
      if (request.requireKnownMemberId) {
        group.pendingMembers.set(memberId, Date.now() + request.sessionTimeoutMs);
        return Promise.resolve(failedJoin(ErrorCode.memberIdRequired, memberId));
      }
      return this.addMemberAndRebalance(group, memberId, request);
    }
    if (group.pendingMembers.delete(request.memberId)) {
      return this.addMemberAndRebalance(group, request.memberId, request);
    }
    const member = group.members.get(request.memberId);
    if (!member) return Promise.resolve(failedJoin(ErrorCode.unknownMemberId, request.memberId));

    const unchanged = sameProtocols(member.protocols, request.protocols);
    if (group.state === 'CompletingRebalance' && unchanged) {
      // A retried join (e.g. after a lost response): hand back the same generation.
      member.lastSeen = Date.now();
      return Promise.resolve(this.joinResultFor(group, member));
    }
    if (group.state === 'Stable' && unchanged && member.memberId !== group.leaderId) {
      member.lastSeen = Date.now();
      return Promise.resolve(this.joinResultFor(group, member));
    }
    return this.updateMemberAndRebalance(group, member, request);
  }

  sync(request: SyncGroupRequest): Promise<SyncGroupResult> {
    const fail = (errorCode: ErrorCodeValue) => Promise.resolve({ errorCode, assignment: EMPTY });
    const group = this.groups.get(request.groupId);
    const member = group?.members.get(request.memberId);
    if (!group || !member || group.state === 'Empty') return fail(ErrorCode.unknownMemberId);
    if (request.generationId !== group.generationId) return fail(ErrorCode.illegalGeneration);
    if (group.state === 'PreparingRebalance') return fail(ErrorCode.rebalanceInProgress);

    member.lastSeen = Date.now();
    if (group.state === 'Stable') return Promise.resolve({ errorCode: ErrorCode.none, assignment: member.assignment });

    const result = new Promise<SyncGroupResult>((resolve) => {
      member.awaitingSync = resolve;
    });
    if (member.memberId === group.leaderId) {
      const assignments = new Map(request.assignments.map((entry) => [entry.memberId, entry.assignment]));
      group.state = 'Stable';
      for (const each of group.members.values()) {
        each.assignment = assignments.get(each.memberId) ?? EMPTY;
        each.lastSeen = Date.now();
        const respond = each.awaitingSync;
        each.awaitingSync = null;
        respond?.({ errorCode: ErrorCode.none, assignment: each.assignment });
      }
    }
    return result;
  }

  heartbeat(groupId: string, generationId: number, memberId: string): ErrorCodeValue {
    const group = this.groups.get(groupId);
    const member = group?.members.get(memberId);
    if (!group || !member || group.state === 'Empty') return ErrorCode.unknownMemberId;
    if (generationId !== group.generationId) return ErrorCode.illegalGeneration;
    member.lastSeen = Date.now();
    return group.state === 'PreparingRebalance' ? ErrorCode.rebalanceInProgress : ErrorCode.none;
  }

  leave(groupId: string, memberIds: string[]): ErrorCodeValue[] {
    const group = this.groups.get(groupId);
    if (!group) return memberIds.map(() => ErrorCode.unknownMemberId);
    const results = memberIds.map((memberId) => {
      if (group.pendingMembers.delete(memberId)) return ErrorCode.none;
      const member = group.members.get(memberId);
      if (!member) return ErrorCode.unknownMemberId;
      this.removeMember(group, member);
      return ErrorCode.none;
    });
    this.afterMembershipChange(group);
    return results;
  }

  /** Whether a member may commit offsets now; returns the group-level error, if any. */
  authorizeCommit(groupId: string, generationId: number, memberId: string): ErrorCodeValue {
    const group = this.groups.get(groupId);
    if (!group) {
      // Consumers that assign partitions themselves commit with generation -1.
      if (generationId < 0) {
        this.createGroup(groupId);
        return ErrorCode.none;
      }
      return ErrorCode.illegalGeneration;
    }
    if (generationId < 0 && group.state === 'Empty') return ErrorCode.none;
    if (group.state === 'CompletingRebalance') return ErrorCode.rebalanceInProgress;
    const member = group.members.get(memberId);
    if (!member) return ErrorCode.unknownMemberId;
    if (generationId !== group.generationId) return ErrorCode.illegalGeneration;
    // Commits are still accepted while preparing a rebalance: members commit before rejoining.
    member.lastSeen = Date.now();
    return ErrorCode.none;
  }

  commit(groupId: string, topic: string, partition: number, committed: CommittedOffset): void {
    let topics = this.offsets.get(groupId);
    if (!topics) this.offsets.set(groupId, (topics = new Map()));
    let partitions = topics.get(topic);
    if (!partitions) topics.set(topic, (partitions = new Map()));
    partitions.set(partition, committed);
  }

  committedOffset(groupId: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.offsets.get(groupId)?.get(topic)?.get(partition);
  }

  committedTopics(groupId: string): { topic: string; partitions: number[] }[] {
    return [...(this.offsets.get(groupId) ?? new Map<string, Map<number, CommittedOffset>>())].map(([topic, partitions]) => ({
      topic,
      partitions: [...partitions.keys()],
    }));
  }

  private createGroup(groupId: string): ConsumerGroup {
    const group: ConsumerGroup = {
      groupId,
      state: 'Empty',
      generationId: 0,
      protocolType: null,
      protocolName: null,
      leaderId: null,
      members: new Map(),
      pendingMembers: new Map(),
      joinNotBefore: 0,
      joinDeadline: 0,
    };
    this.groups.set(groupId, group);
    return group;
  }

  private supportsProtocols(group: ConsumerGroup, request: JoinGroupRequest): boolean {
    if (request.protocolType === '' || request.protocols.length === 0) return false;
    if (group.members.size === 0) return true;
    if (request.protocolType !== group.protocolType) return false;
    const names = new Set(request.protocols.map((protocol) => protocol.name));
    return [...group.members.values()].every((member) => member.protocols.some((protocol) => names.has(protocol.name)));
  }

  private addMemberAndRebalance(group: ConsumerGroup, memberId: string, request: JoinGroupRequest): Promise<JoinGroupResult> {
    const member: Member = {
      memberId,
      groupInstanceId: request.groupInstanceId,
      clientId: request.clientId,
      sessionTimeoutMs: request.sessionTimeoutMs,
      rebalanceTimeoutMs: request.rebalanceTimeoutMs,
      protocols: request.protocols,
      lastSeen: Date.now(),
      awaitingJoin: null,
      awaitingSync: null,
      assignment: EMPTY,
    };
    group.members.set(memberId, member);
    group.leaderId ??= memberId;
    group.protocolType ??= request.protocolType;
    return this.parkJoin(group, member);
  }

  private updateMemberAndRebalance(group: ConsumerGroup, member: Member, request: JoinGroupRequest): Promise<JoinGroupResult> {
    member.protocols = request.protocols;
    member.sessionTimeoutMs = request.sessionTimeoutMs;
    member.rebalanceTimeoutMs = request.rebalanceTimeoutMs;
    member.lastSeen = Date.now();
    return this.parkJoin(group, member);
  }

  private parkJoin(group: ConsumerGroup, member: Member): Promise<JoinGroupResult> {
    const result = new Promise<JoinGroupResult>((resolve) => {
      // A join retried on a new connection replaces the one parked on the dead connection.
      member.awaitingJoin = resolve;
    });
    if (group.state !== 'PreparingRebalance') this.prepareRebalance(group);
    this.tryCompleteJoin(group);
    return result;
  }

  private rebalanceTimeout(group: ConsumerGroup): number {
    return Math.max(0, ...[...group.members.values()].map((member) => member.rebalanceTimeoutMs));
  }

  private prepareRebalance(group: ConsumerGroup): void {
    if (group.state === 'CompletingRebalance') {
      // Followers waiting for an assignment of a generation that will never be stable.
      for (const member of group.members.values()) {
        const respond = member.awaitingSync;
        member.awaitingSync = null;
        respond?.({ errorCode: ErrorCode.rebalanceInProgress, assignment: EMPTY });
      }
    }
    const now = Date.now();
    const initialDelay = group.state === 'Empty' ? this.options.initialRebalanceDelayMs : 0;
    group.state = 'PreparingRebalance';
    group.joinNotBefore = now + initialDelay;
    group.joinDeadline = now + initialDelay + this.rebalanceTimeout(group);
  }

  private tryCompleteJoin(group: ConsumerGroup): void {
    if (group.state !== 'PreparingRebalance' || Date.now() < group.joinNotBefore) return;
    const everyoneJoined = [...group.members.values()].every((member) => member.awaitingJoin !== null);
    if (everyoneJoined && group.pendingMembers.size === 0) this.completeJoin(group);
  }

  private completeJoin(group: ConsumerGroup): void {
    for (const member of [...group.members.values()]) {
      if (member.awaitingJoin === null) this.removeMember(group, member);
    }
    group.generationId += 1;
    if (group.members.size === 0) {
      group.state = 'Empty';
      group.protocolName = null;
      group.protocolType = null;
      group.leaderId = null;
      return;
    }
    group.protocolName = this.selectProtocol(group);
    group.state = 'CompletingRebalance';
    const now = Date.now();
    for (const member of group.members.values()) {
      member.assignment = EMPTY;
      member.lastSeen = now;
      const respond = member.awaitingJoin;
      member.awaitingJoin = null;
      respond?.(this.joinResultFor(group, member));
    }
  }

  /** Kafka's vote: every member names its most preferred protocol that all members support. */
  private selectProtocol(group: ConsumerGroup): string | null {
    const members = [...group.members.values()];
    const first = members[0];
    if (!first) return null;
    const candidates = first.protocols
      .map((protocol) => protocol.name)
      .filter((name) => members.every((member) => member.protocols.some((protocol) => protocol.name === name)));
    const votes = new Map<string, number>();
    for (const member of members) {
      const choice = member.protocols.find((protocol) => candidates.includes(protocol.name))?.name;
      if (choice !== undefined) votes.set(choice, (votes.get(choice) ?? 0) + 1);
    }
    let winner: string | null = null;
    for (const candidate of candidates) {
      if (winner === null || (votes.get(candidate) ?? 0) > (votes.get(winner) ?? 0)) winner = candidate;
    }
    return winner;
  }

  private joinResultFor(group: ConsumerGroup, member: Member): JoinGroupResult {
    const isLeader = member.memberId === group.leaderId;
    return {
      errorCode: ErrorCode.none,
      generationId: group.generationId,
      protocolName: group.protocolName,
      leaderId: group.leaderId ?? '',
      memberId: member.memberId,
      members: isLeader
        ? [...group.members.values()].map((each) => ({
            memberId: each.memberId,
            groupInstanceId: each.groupInstanceId,
            metadata: each.protocols.find((protocol) => protocol.name === group.protocolName)?.metadata ?? EMPTY,
          }))
        : [],
    };
  }

  private removeMember(group: ConsumerGroup, member: Member): void {
    group.members.delete(member.memberId);
    member.awaitingJoin?.(failedJoin(ErrorCode.unknownMemberId, member.memberId));
    member.awaitingSync?.({ errorCode: ErrorCode.unknownMemberId, assignment: EMPTY });
    member.awaitingJoin = null;
    member.awaitingSync = null;
    if (group.leaderId === member.memberId) {
      // Prefer a member that is already rejoining, so the new leader is around to assign.
      const members = [...group.members.values()];
      group.leaderId = (members.find((each) => each.awaitingJoin !== null) ?? members[0])?.memberId ?? null;
    }
  }

  private afterMembershipChange(group: ConsumerGroup): void {
    if (group.state === 'Stable' || group.state === 'CompletingRebalance') this.prepareRebalance(group);
    this.tryCompleteJoin(group);
  }

  private sweep(): void {
    const now = Date.now();
    for (const group of this.groups.values()) {
      let changed = false;
      for (const [memberId, deadline] of group.pendingMembers) {
        if (now > deadline) {
          group.pendingMembers.delete(memberId);
          changed = true;
        }
      }
      for (const member of [...group.members.values()]) {
        const parked = member.awaitingJoin !== null || member.awaitingSync !== null;
        if (!parked && now - member.lastSeen > member.sessionTimeoutMs) {
          this.removeMember(group, member);
          changed = true;
        }
      }
      if (changed) this.afterMembershipChange(group);
      if (group.state === 'PreparingRebalance') {
        if (now >= group.joinDeadline) this.completeJoin(group);
        else this.tryCompleteJoin(group);
      }
    }
  }
}
