package dev.saeforge.cli;

import io.quarkus.picocli.runtime.PicocliCommandLineFactory;
import io.quarkus.picocli.runtime.annotations.TopCommand;
import org.eclipse.microprofile.config.ConfigProvider;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.ScopeType;

/** The root of the command tree. */
@TopCommand
@Command(name = "saeforge",
        mixinStandardHelpOptions = true,
        // Every subcommand gets --help and --version too.
        scope = ScopeType.INHERIT,
        versionProvider = SaeForgeCommand.Version.class,
        description = "Train sparse autoencoders on Qwen3 activations, locally or as Kubernetes Jobs.",
        subcommands = {ValidateCommand.class, ExampleCommand.class, TrainCommand.class, CheckpointsCommand.class,
                ModelCommand.class, ActivationsCommand.class, PretokenizeCommand.class, BenchCommand.class, SubmitCommand.class, GetCommand.class,
                DescribeCommand.class, LogsCommand.class, CancelCommand.class, DeleteCommand.class, OperatorCommand.class,
                ReportCommand.class, PublishCommand.class, CacheCommand.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
                "0:done as asked",
                "1:failed while running (I/O, cluster, engine)",
                "2:refused: invalid spec, argument or file",
                "69:unavailable here: no GPU (bench gpu), no native executable (bench startup)",
                "75:stopped after a checkpoint; run again to resume"})
public class SaeForgeCommand {
    /**
     * Set by the launcher when it runs as kubectl-saeforge, so that usage and messages name the
     * command the way the user typed it: "kubectl saeforge".
     */
    static final String COMMAND_NAME_VARIABLE = "SAEFORGE_COMMAND_NAME";

    /** Settings every command line gets, in the application and in tests. */
    public static CommandLine configure(CommandLine commandLine) {
        String name = System.getenv(COMMAND_NAME_VARIABLE);
        if (name != null && !name.isBlank()) {
            commandLine.setCommandName(name);
        }
        return commandLine.setExecutionExceptionHandler(ClusterAccess.failureHandler());
    }

    /** Quarkus builds the command line through this producer, so {@link #configure} applies to the application. */
    @jakarta.enterprise.context.ApplicationScoped
    static class CommandLineProducer {
        @jakarta.enterprise.inject.Produces
        CommandLine commandLine(PicocliCommandLineFactory factory) {
            return configure(factory.create());
        }
    }

    static final class Version implements IVersionProvider {
        @Override
        public String[] getVersion() {
            String version = ConfigProvider.getConfig().getOptionalValue("quarkus.application.version", String.class).orElse("unknown");
            return new String[]{
                    "saeforge " + version,
                    "TrainingRun API saeforge.dev/v1alpha1, SAELens v6 checkpoint format",
                    "Java " + System.getProperty("java.version") + " (" + System.getProperty("java.vendor") + ")"};
        }
    }
}
