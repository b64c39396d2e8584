package dev.saeforge.cli;

/** What saeforge's exit status means, the same for every command. */
public final class ExitCodes {
    /** Done as asked. */
    public static final int OK = 0;
    /** Failed at run time: I/O, the cluster, the engine. */
    public static final int FAILURE = 1;
    /** Refused before doing anything: a bad spec, a bad argument, a missing file. */
    public static final int INVALID_INPUT = 2;
    /**
     * The trainer stopped early after writing a checkpoint (SIGTERM, preemption, a transient error)
     * and asks to be run again with --resume. 75 is EX_TEMPFAIL of sysexits.h ("try again later").
     * The operator's Job treats it as retryable; 1 and 2 are fatal (see operator.TrainingJobs).
     */
    public static final int RESUME = 75;

    private ExitCodes() {
    }
}
