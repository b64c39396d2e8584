package dev.saeforge.tensor;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Programs written in the project, archived as libtorch's serialized modules and run through DJL. */
class TorchScriptTest {
    @TempDir
    Path dir;
    NDManager manager;

    @BeforeEach
    void open() {
        manager = Torch.engine().newBaseManager(Device.cpu());
    }

    @AfterEach
    void close() {
        manager.close();
    }

    @Test
    void theArchiveIsLibtorchsSerializedModuleLayoutWithTheSourceAsItsCode() throws IOException {
        Path file = dir.resolve("any_dtype.pt");
        TorchScript.writeArchive(AnyDtype.PROGRAM, file);

        try (ZipFile zip = new ZipFile(file.toFile())) {
            List<String> entries = zip.stream().map(ZipEntry::getName).toList();
            assertThat(entries).containsExactly("anydtype/data.pkl", "anydtype/code/__torch__.py", "anydtype/constants.pkl", "anydtype/version");
            assertThat(zip.stream()).allSatisfy(entry -> assertThat(entry.getMethod()).as("stored, as torch.jit.save writes").isEqualTo(ZipEntry.STORED));
            String code = new String(zip.getInputStream(zip.getEntry("anydtype/code/__torch__.py")).readAllBytes(), StandardCharsets.UTF_8);
            assertThat(code).isEqualTo(TorchScript.source(AnyDtype.PROGRAM));
            assertThat(zip.getInputStream(zip.getEntry("anydtype/data.pkl")).readAllBytes())
                    .as("pickle protocol 2 of __torch__.AnyDtype with {training: False}")
                    .isEqualTo("\u0080\u0002c__torch__\nAnyDtype\n)\u0081}X\u0008\u0000\u0000\u0000training\u0089sb.".getBytes(StandardCharsets.ISO_8859_1));
        }
    }

    @Test
    void aProgramLibtorchCannotCompileIsRefusedByName() {
        assertThatThrownBy(() -> TorchScript.load("dev/saeforge/tensor/broken.py", Device.cpu()))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("libtorch refused the TorchScript program dev/saeforge/tensor/broken.py: ");
        assertThatThrownBy(() -> TorchScript.load("dev/saeforge/tensor/absent.py", Device.cpu()))
                .hasMessage("the TorchScript program dev/saeforge/tensor/absent.py is not on the class path");
    }

    @Test
    void bfloat16TensorsLiveInsideProgramsAndComeBackExactlyWhereValuesFit() {
        // 1.5, -2 and 3.140625 are bfloat16 numbers; 1e-3 rounds to 9.9945068e-4.
        NDArray x = manager.create(new float[]{1.5f, -2f, 3.140625f, 1e-3f}, new Shape(2, 2));

        NDArray narrow = AnyDtype.cast(x, Precision.BFLOAT16, manager);
        NDArray back = AnyDtype.cast(narrow, Precision.FLOAT32, manager);

        assertThat(narrow.getDataType()).as("DJL cannot name bfloat16").isEqualTo(DataType.UNKNOWN);
        assertThat(back.getDataType()).isEqualTo(DataType.FLOAT32);
        assertThat(back.toFloatArray()).containsExactly(1.5f, -2f, 3.140625f, 9.9945068e-4f);
    }

    @Test
    void rowsCopyIntoATargetOfAnyPrecisionAtTheirOffset() {
        for (Precision precision : Precision.values()) {
            NDArray target = AnyDtype.empty(new long[]{4, 3}, precision, Device.cpu(), manager);
            AnyDtype.copyRows(target, 0, manager.create(new float[]{1, 2, 3, 4, 5, 6}, new Shape(2, 3)));
            AnyDtype.copyRows(target, 2, manager.create(new float[]{7, 8, 9, 10, 11, 12}, new Shape(2, 3)));

            assertThat(AnyDtype.cast(target, Precision.FLOAT32, manager).toFloatArray()).as(precision.toString())
                    .containsExactly(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12);
        }
    }

    @Test
    void theBareMatmulBoundComputesEveryProductItIsGiven() {
        List<NDArray> inputs = new ArrayList<>();
        List<NDArray> weights = new ArrayList<>();
        float expected = 0;
        for (int i = 1; i <= 9; i++) {
            NDArray input = manager.randomNormal(new Shape(5, 4));
            NDArray weight = manager.randomNormal(new Shape(3, 4));
            inputs.add(input);
            weights.add(weight);
            expected += input.matMul(weight.transpose()).getFloat(0, 0);
        }

        float corners = AnyDtype.matmuls(inputs, weights, manager).getFloat();

        assertThat(corners).as("the [0, 0] element of each of the nine products, summed").isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-4f));
    }

    @Test
    void theProcessEnvironmentThatLibrariesReadCanBeSetFromJava() {
        assertThat(ProcessEnvironment.get("SAEFORGE_TORCHSCRIPT_TEST")).isNull();

        ProcessEnvironment.set("SAEFORGE_TORCHSCRIPT_TEST", "1");

        assertThat(ProcessEnvironment.get("SAEFORGE_TORCHSCRIPT_TEST")).isEqualTo("1");
        assertThat(System.getenv("SAEFORGE_TORCHSCRIPT_TEST")).as("Java's copy, taken at start-up, does not change").isNull();
    }

    @Test
    void tf32AskedForAfterLibtorchHasLoadedIsRefusedAndReportedOff() {
        Torch.engine();
        boolean atLoad = Torch.tf32();

        assertThat(Torch.requestTf32()).as("libtorch read its environment when it loaded").isEqualTo(atLoad);
        assertThat(Torch.tf32()).isEqualTo(atLoad);
    }
}
