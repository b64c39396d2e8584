package dev.saeforge.cli;

import io.quarkus.picocli.runtime.annotations.TopCommand;
import org.eclipse.microprofile.config.ConfigProvider;
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
                ModelCommand.class, ActivationsCommand.class, BenchCommand.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
                "0:done as asked",
                "1:failed while running (I/O, cluster, engine)",
                "2:refused: invalid spec, argument or file",
                "75:stopped after a checkpoint; run again to resume"})
public class SaeForgeCommand {

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
