import { PartitionLog } from './partition-log.ts';

const LEGAL_TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

export function isLegalTopicName(name: string): boolean {
  return LEGAL_TOPIC_NAME.test(name) && name !== '.' && name !== '..';
}

/** All topics and their partition logs; outlives broker restarts, like Kafka's log dirs. */
export class TopicRegistry {
  private readonly topics = new Map<string, PartitionLog[]>();
  private readonly appendListeners = new Set<() => void>();

  has(name: string): boolean {
    return this.topics.has(name);
  }

  names(): string[] {
    return [...this.topics.keys()];
  }

  partitions(name: string): PartitionLog[] | undefined {
    return this.topics.get(name);
  }

  partition(name: string, partition: number): PartitionLog | undefined {
    return this.topics.get(name)?.[partition];
  }

  create(name: string, partitionCount: number): PartitionLog[] {
    const logs = Array.from({ length: partitionCount }, (_, partition) => new PartitionLog(name, partition));
    this.topics.set(name, logs);
    return logs;
  }

  /** Lets long-polling fetches wake up as soon as data arrives instead of at maxWait. */
  onAppend(listener: () => void): () => void {
    this.appendListeners.add(listener);
    return () => this.appendListeners.delete(listener);
  }

  notifyAppend(): void {
    for (const listener of [...this.appendListeners]) listener();
  }
}
