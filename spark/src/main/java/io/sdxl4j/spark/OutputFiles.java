// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.spark;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.ChecksumFileSystem;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The job's files through Hadoop's {@link FileSystem} (local paths, HDFS, S3A …): images written
 * whole or not at all, and input images read.
 *
 * <p>An image goes to a hidden temporary name beside its final one ({@code .<id>.png.<attempt>.tmp},
 * unique to the task attempt) and is then renamed to {@code <id>.png}: readers see no torn file,
 * and two attempts of one task (a retry after a failure, or a speculative copy) never write the
 * same temporary file. When {@code <id>.png} already exists (an earlier attempt got that far) the
 * rename replaces it — the local file system's rename does so atomically; HDFS refuses, so the old
 * file is deleted first — and since the seed is fixed per request both files hold the same image.
 * The local file system is used without Hadoop's {@code .crc} side files, which would double the
 * files of the output folder.
 */
final class OutputFiles {

    /** Files above this are not images a request may name. */
    static final long MAX_INPUT_BYTES = 256L << 20;

    private final FileSystem fs;
    private final Path dir;

    private OutputFiles(FileSystem fs, Path dir) {
        this.fs = fs;
        this.dir = dir;
    }

    /** The output folder {@code dir} (created when missing). */
    static OutputFiles at(String dir, Configuration conf) {
        try {
            Path path = new Path(dir);
            FileSystem fs = raw(path.getFileSystem(conf));
            fs.mkdirs(path);
            return new OutputFiles(fs, fs.makeQualified(path));
        } catch (IOException e) {
            throw new UncheckedIOException(dir + ": cannot open the output folder", e);
        }
    }

    private static FileSystem raw(FileSystem fs) {
        return fs instanceof ChecksumFileSystem c ? c.getRawFileSystem() : fs;
    }

    /** The final path of request {@code id}'s image. */
    Path image(String id) {
        return new Path(dir, id + ".png");
    }

    /**
     * Writes {@code png} as {@code <id>.png}, whole, through a temporary file of {@code attempt}.
     *
     * @return the image's path
     */
    String write(String id, byte[] png, long attempt) throws IOException {
        Path target = image(id);
        Path tmp = new Path(dir, "." + id + ".png." + attempt + ".tmp");
        try (OutputStream out = fs.create(tmp, true)) {
            out.write(png);
        }
        if (!fs.rename(tmp, target)) {
            // HDFS (and object stores' connectors) refuse to rename onto an existing file: an earlier
            // attempt's image, the same pixels. Replace it; if another attempt got in between, its file
            // is as good as ours.
            fs.delete(target, false);
            if (!fs.rename(tmp, target)) {
                fs.delete(tmp, false);
                if (!fs.exists(target)) {
                    throw new IOException(target + ": cannot rename " + tmp + " to it");
                }
            }
        }
        return target.toString();
    }

    /**
     * The bytes of the file {@code value} names (a path or URI that Hadoop resolves), or empty when it
     * names no file (then it is read as base64).
     */
    static Optional<byte[]> read(String value, Configuration conf) {
        Path path;
        try {
            path = new Path(value);
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
        try {
            FileSystem fs = path.getFileSystem(conf);
            FileStatus status;
            try {
                status = fs.getFileStatus(path);
            } catch (java.io.FileNotFoundException e) {
                return Optional.empty();
            }
            if (!status.isFile()) {
                return Optional.empty();
            }
            if (status.getLen() > MAX_INPUT_BYTES) {
                throw new io.sdxl4j.InvalidRequestException("image", value, "is larger than 256 MB");
            }
            try (InputStream in = fs.open(path)) {
                return Optional.of(in.readAllBytes());
            }
        } catch (IOException e) {
            // Not a file system this executor can reach (an unknown scheme, say): base64 then, whose own
            // error names the field.
            return Optional.empty();
        }
    }
}
