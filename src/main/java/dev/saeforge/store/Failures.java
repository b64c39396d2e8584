package dev.saeforge.store;

import io.minio.errors.ErrorResponseException;
import io.minio.errors.InvalidResponseException;
import io.minio.errors.ServerException;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.net.http.HttpTimeoutException;
import java.nio.file.FileSystemException;
import java.util.Set;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Which failures go away by themselves, in one place. Two questions, two answers:
 * <ul>
 * <li>{@link #isRetryable}: is one failed request worth sending again at once? Network failures,
 *     HTTP 5xx, 408, 429 and S3's slow-down codes are; refusals (other 4xx) and local file errors
 *     are not.</li>
 * <li>{@link #isTransient}: does a failed training run deserve a new attempt that resumes from its
 *     last complete checkpoint (exit 75), rather than being failed for good (exit 1)? Yes when
 *     anything in the cause chain is a retry budget spent on retryable failures, storage that
 *     cannot be reached, a server error or throttling, a timeout, or a full disk: none of those
 *     says the run or its data is wrong. A bug or bad data is never transient, so it is never
 *     restarted in a loop.</li>
 * </ul>
 */
public final class Failures {
    private static final Pattern RESPONSE_CODE = Pattern.compile("Response code: (\\d{3})");
    private static final Set<String> TRANSIENT_CODES = Set.of("RequestTimeout", "SlowDown", "InternalError", "ServiceUnavailable");
    /** strerror(ENOSPC) and strerror(EDQUOT), as the JDK reports them. */
    private static final Set<String> FULL_DISK = Set.of("No space left on device", "Disk quota exceeded");

    private Failures() {
    }

    /** A failed request is worth repeating: see the class comment. */
    public static boolean isRetryable(Throwable e) {
        if (e instanceof ErrorResponseException error) {
            return (error.response() != null && isTransientStatus(error.response().code()))
                    || (error.errorResponse() != null && TRANSIENT_CODES.contains(error.errorResponse().code()));
        }
        if (e instanceof ServerException server) {
            return isTransientStatus(server.statusCode());
        }
        if (e instanceof InvalidResponseException) {
            // A non-XML answer, typically a proxy's error page; the SDK keeps the status only in the message.
            Matcher status = RESPONSE_CODE.matcher(String.valueOf(e.getMessage()));
            return status.find() && isTransientStatus(Integer.parseInt(status.group(1)));
        }
        if (e instanceof TransientIOException) {
            return true;
        }
        if (e instanceof CorruptCheckpointException || e instanceof FileSystemException || e instanceof FileNotFoundException) {
            return false;
        }
        return e instanceof IOException;
    }

    /** A failed run deserves a new attempt that resumes: see the class comment. Walks the whole cause chain. */
    public static boolean isTransient(Throwable failure) {
        for (Throwable e = failure; e != null; e = e.getCause() == e ? null : e.getCause()) {
            if (e instanceof TransientIOException || e instanceof TimeoutException || e instanceof SocketException
                    || isUnreachable(e) || isFullDisk(e) || isServerTrouble(e)) {
                return true;
            }
        }
        return false;
    }

    /** An S3 answer that says the server is failing or overloaded, not that the request is wrong. */
    private static boolean isServerTrouble(Throwable e) {
        return (e instanceof ErrorResponseException || e instanceof ServerException || e instanceof InvalidResponseException)
                && isRetryable(e);
    }

    /** The server could not be reached at all, or did not answer in time. */
    static boolean isUnreachable(Throwable e) {
        return e instanceof ConnectException || e instanceof UnknownHostException || e instanceof NoRouteToHostException
                || e instanceof SocketTimeoutException || e instanceof HttpTimeoutException;
    }

    /** ENOSPC or EDQUOT: the disk (or the quota) is full. */
    static boolean isFullDisk(Throwable e) {
        if (!(e instanceof IOException)) {
            return false;
        }
        String reason = e instanceof FileSystemException fs ? fs.getReason() : e.getMessage();
        return reason != null && FULL_DISK.stream().anyMatch(reason::contains);
    }

    static boolean isTransientStatus(int status) {
        return status >= 500 || status == 408 || status == 429;
    }
}
