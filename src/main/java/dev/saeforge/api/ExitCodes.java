package dev.saeforge.api;

/** What saeforge's exit status means, the same for every command. */
public final class ExitCodes {
    /** Done as asked. */
    public static final int OK = 0;
    /** Failed at run time: I/O, the cluster, the engine. */
    public static final int FAILURE = 1;
    /** Refused before doing anything: a bad spec, a bad argument, a missing file. */
    public static final int INVALID_INPUT = 2;
    /**
     * What the command measures or needs is not on this machine (bench gpu without a GPU, bench
     * startup without a native executable). EX_UNAVAILABLE.
     */
    public static final int UNAVAILABLE = 69;
    /**
     * Stopped early after a checkpoint (preemption, a step limit), or by a transient failure (storage
     * unreachable or failing past its retry budget, a timeout, a full disk): run again to resume
     * from the last complete checkpoint. EX_TEMPFAIL.
     * The operator's Job counts it as retryable and starts a new attempt with --resume; 1 and 2
     * are fatal to a run (see operator.TrainingJobs).
     */
    public static final int RESUME = 75;

    private ExitCodes() {
    }
}
