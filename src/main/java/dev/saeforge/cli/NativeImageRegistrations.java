package dev.saeforge.cli;

import dev.saeforge.api.TrainingRun;
import dev.saeforge.api.TrainingRunSpec;
import dev.saeforge.api.TrainingRunStatus;
import dev.saeforge.operator.OperatorConfig;
import dev.saeforge.api.SaeEntrySpec;
import dev.saeforge.api.SaeSpec;
import dev.saeforge.api.SaeTrainingSpec;
import dev.saeforge.api.TrainingSpec;
import io.quarkus.runtime.annotations.RegisterForReflection;

/**
 * What a native image cannot discover by itself: the classes that are only reached by
 * reflection. A JVM needs none of this. Everything native-image specific lives here, in
 * application.properties (quarkus.native.*) and, for JNI callbacks from libtorch and the Rust
 * tokenizers, in META-INF/native-image/dev.saeforge/saeforge/.
 */
final class NativeImageRegistrations {
    private NativeImageRegistrations() {
    }

    /**
     * Documents Jackson binds field by field: the TrainingRun (read strictly by {@code SchemaCheck},
     * which also reads the fabric8 validation annotations on its fields) and the operator's
     * configuration. The full hierarchy takes in every spec and status class their fields name;
     * the element classes of lists are named too, and SaeDefinition reads the SAE and training
     * fields a sweep may vary by reflection.
     */
    @RegisterForReflection(targets = {TrainingRun.class, TrainingRunSpec.class, TrainingRunStatus.class, OperatorConfig.class,
            SaeEntrySpec.class, SaeTrainingSpec.class, SaeSpec.class, TrainingSpec.class},
            registerFullHierarchy = true)
    static final class Documents {
    }

    /**
     * The MinIO SDK parses S3's XML answers with simple-xml, which fills the io.minio.messages
     * classes field by field and builds its own label and extractor objects through
     * Class.getConstructor. The message roots are the answers and requests of the calls
     * S3CheckpointStore makes (list, multipart upload, errors, bucket location); their full
     * hierarchy brings the element classes (Item, Contents, Part, Upload, Owner, ...).
     */
    @RegisterForReflection(classNames = {
            "io.minio.messages.ListBucketResultV2", "io.minio.messages.ListBucketResultV1",
            "io.minio.messages.ListVersionsResult", "io.minio.messages.ListObjectsResult",
            "io.minio.messages.InitiateMultipartUploadResult", "io.minio.messages.CompleteMultipartUpload",
            "io.minio.messages.CompleteMultipartUploadResult", "io.minio.messages.ListPartsResult",
            "io.minio.messages.ListMultipartUploadsResult", "io.minio.messages.ErrorResponse",
            "io.minio.messages.LocationConstraint", "io.minio.messages.DeleteRequest", "io.minio.messages.DeleteResult",
            "io.minio.messages.CopyObjectResult", "io.minio.messages.CopyPartResult"},
            registerFullHierarchy = true)
    static final class S3Messages {
    }

    /**
     * Every MinIO call takes an XArgs built by XArgs.builder(), whose builder makes the empty XArgs
     * by reflection: the enclosing class of the builder, then its no-argument constructor. These
     * are the calls the S3 stores make.
     */
    @RegisterForReflection(classNames = {
            "io.minio.GetObjectArgs", "io.minio.GetObjectArgs$Builder", "io.minio.ListObjectsArgs", "io.minio.ListObjectsArgs$Builder",
            "io.minio.PutObjectArgs", "io.minio.PutObjectArgs$Builder", "io.minio.RemoveObjectArgs", "io.minio.RemoveObjectArgs$Builder",
            "io.minio.StatObjectArgs", "io.minio.StatObjectArgs$Builder"})
    static final class S3Calls {
    }

    @RegisterForReflection(classNames = {
            "org.simpleframework.xml.core.AttributeLabel", "org.simpleframework.xml.core.ElementLabel",
            "org.simpleframework.xml.core.ElementArrayLabel", "org.simpleframework.xml.core.ElementListLabel",
            "org.simpleframework.xml.core.ElementMapLabel", "org.simpleframework.xml.core.ElementUnionLabel",
            "org.simpleframework.xml.core.ElementListUnionLabel", "org.simpleframework.xml.core.ElementMapUnionLabel",
            "org.simpleframework.xml.core.TextLabel", "org.simpleframework.xml.core.VersionLabel",
            "org.simpleframework.xml.core.ExtractorFactory$ElementExtractor",
            "org.simpleframework.xml.core.ExtractorFactory$ElementListExtractor",
            "org.simpleframework.xml.core.ExtractorFactory$ElementMapExtractor"})
    static final class SimpleXml {
    }

    /**
     * DJL finds its engines with a ServiceLoader over META-INF/services/ai.djl.engine.EngineProvider
     * (Quarkus turns native-image's automatic service registration off): every provider listed
     * there must be constructible (the api jar lists its RPC engine, the tokenizers jar its Rust one), or the
     * loader fails before PyTorch is reached.
     */
    @RegisterForReflection(classNames = {"ai.djl.pytorch.engine.PtEngineProvider", "ai.djl.engine.rust.RsEngineProvider",
            "ai.djl.engine.rpc.RpcEngineProvider"})
    static final class DjlEngines {
    }
}
