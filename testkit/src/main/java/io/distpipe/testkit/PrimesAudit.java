package io.distpipe.testkit;

import java.math.BigInteger;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import io.distpipe.primes.TaskCompleted;
import io.distpipe.primes.TaskMessage;
import io.distpipe.topics.Numbers;
import io.distpipe.topics.Topics;

/**
 * What a primes job left on the topics, read independently of the coordinator (whose counts deduplicate, so they
 * cannot show a task committed twice): every topic read to its end, read_committed unless said otherwise.
 *
 * @param tasksPublished     task ids of the job on {@code primes.tasks} (committed)
 * @param completions        committed {@code TaskCompleted} records of the job per task id
 * @param uncommittedCompletions {@code TaskCompleted} records of the job in the log, aborted transactions included
 * @param uniquePrimes       committed {@code primes.unique} entries of the job per prime
 * @param deadLettered       committed records on each dead-letter topic (all jobs)
 * @param completionsByWorker committed completions of the job per worker id
 */
public record PrimesAudit(String jobId, Set<String> tasksPublished, Map<String, Integer> completions,
                          long uncommittedCompletions, Map<BigInteger, Integer> uniquePrimes,
                          Map<String, Long> deadLettered, Map<String, Integer> completionsByWorker) {

    /** Reads the job's records from the primes topics of the cluster at {@code bootstrap}. */
    public static PrimesAudit of(String bootstrap, String registryUrl, String jobId) {
        TopicAudit topics = TopicAudit.of(bootstrap, registryUrl);
        String taskPrefix = jobId + "/";
        Set<String> tasks = new TreeSet<>();
        for (TopicAudit.Entry<String, TaskMessage> task : topics.committed(Topics.PRIMES_TASKS)) {
            if (task.key() != null && task.key().startsWith(taskPrefix)) {
                tasks.add(task.key());
            }
        }
        List<TaskCompleted> ofJob = completions(topics.committed(Topics.PRIMES_COMPLETED), jobId);
        Map<String, Integer> completions = TopicAudit.tally(ofJob, TaskCompleted::getTaskId);
        Map<String, Integer> byWorker = TopicAudit.tally(ofJob, TaskCompleted::getWorkerId);
        long inLog = completions(topics.wholeLog(Topics.PRIMES_COMPLETED), jobId).size();
        List<BigInteger> primes = topics.committed(Topics.PRIMES_UNIQUE).stream().map(TopicAudit.Entry::value)
            .filter(p -> p != null && jobId.equals(p.getJobId())).map(p -> Numbers.fromBytes(p.getNumber())).toList();
        // read_committed: a dead letter written in a transaction that was then aborted (a Streams task that failed,
        // its input read again) was never delivered.
        Map<String, Long> deadLettered = topics.deadLetters(List.of(Topics.PRIMES_TASKS_DLQ, Topics.PRIMES_FOUND_DLQ));
        return new PrimesAudit(jobId, tasks, completions, inLog, TopicAudit.tally(primes, p -> p), deadLettered,
            byWorker);
    }

    private static List<TaskCompleted> completions(List<TopicAudit.Entry<String, TaskCompleted>> entries,
                                                   String jobId) {
        return entries.stream().map(TopicAudit.Entry::value).filter(c -> c != null && jobId.equals(c.getJobId()))
            .toList();
    }

    /**
     * Every violation of exactly-once delivery found, empty when there is none: a task completed twice or never, a
     * completion of a task that was not published, a prime emitted twice or not at all (against {@code expected}),
     * a record dead-lettered.
     */
    public List<String> violations(Set<BigInteger> expected) {
        return check(expected).problems();
    }

    /** Throws an AssertionError listing every violation, if there is one. */
    public PrimesAudit assertExactlyOnce(Set<BigInteger> expected) {
        check(expected).assertNone();
        return this;
    }

    private TopicAudit.Violations check(Set<BigInteger> expected) {
        return new TopicAudit.Violations("Job " + jobId + " on the topics is not exactly once")
            .atMostOnce("task(s) completed", completions)
            .allOf("published task(s) never completed", tasksPublished, completions.keySet())
            .allOf("completion(s) of tasks never published", completions.keySet(), tasksPublished)
            .atMostOnce("prime(s) on primes.unique", uniquePrimes)
            .allOf("expected prime(s) missing from primes.unique", expected, uniquePrimes.keySet())
            .allOf("number(s) on primes.unique that are not expected primes", uniquePrimes.keySet(), expected)
            .noDeadLetters(deadLettered);
    }

    /** Completions in the log that read_committed readers do not see (aborted transactions of killed workers). */
    public long hiddenCompletions() {
        return uncommittedCompletions - completions.values().stream().mapToLong(Integer::longValue).sum();
    }
}
