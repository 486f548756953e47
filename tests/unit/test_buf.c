/* Growable buffers: appending, formatting, arrays of pointers, and whole files read within a limit. */
#include "check.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "buf.h"

int
main(void)
{
	struct buf b = {0}, list = {0}, file = {0};
	char path[] = "/tmp/romtrack-test-buf-XXXXXX", err[512];
	const char *words[] = {"one", "two", "three"};
	size_t before;
	FILE *f;
	int fd;

	/* {0} is empty; text stays NUL-terminated as it grows far past the first allocation */
	CHECK(b.data == NULL && b.len == 0);
	buf_put(&b, "ab", 2);
	buf_puts(&b, "c");
	CHECK_STR(b.data, "abc");
	for (int i = 0; i < 10000; i++)
		buf_printf(&b, "%04d", i % 10000);
	CHECK_INT(b.len, 3 + 40000);
	CHECK(strncmp(b.data + 3, "000000010002", 12) == 0);
	CHECK_STR(b.data + b.len - 4, "9999");
	/* one printf longer than all the room left */
	buf_printf(&b, "%s%5000s", "x", "y");
	CHECK_INT(b.len, 3 + 40000 + 5001);
	CHECK(b.data[b.len - 1] == 'y' && b.data[b.len] == '\0');
	/* bytes, NULs included */
	before = b.len;
	buf_put(&b, "\0z", 2);
	CHECK_INT(b.len, before + 2);
	CHECK(b.data[before] == '\0' && b.data[before + 1] == 'z');
	buf_free(&b);
	CHECK(b.data == NULL && b.len == 0 && b.cap == 0);
	/* len = 0 empties it and keeps the memory */
	buf_puts(&b, "old");
	b.len = 0;
	buf_printf(&b, "%d", 42);
	CHECK_STR(b.data, "42");
	buf_free(&b);
	buf_grow(&b, 0);
	CHECK(b.data != NULL && b.data[0] == '\0' && b.len == 0);
	buf_free(&b);

	/* an array of pointers */
	for (int round = 0; round < 200; round++)
		for (size_t i = 0; i < 3; i++)
			BUF_PUSH(&list, words[i]);
	CHECK_INT(BUF_COUNT(&list, const char *), 600);
	CHECK_STR(BUF_ITEMS(&list, const char *)[0], "one");
	CHECK_STR(BUF_ITEMS(&list, const char *)[599], "three");
	buf_free(&list);

	/* a file: appended whole, NUL-terminated; over the limit, missing or a folder: an error naming it */
	fd = mkstemp(path);
	CHECK(fd >= 0);
	f = fdopen(fd, "wb");
	CHECK(f != NULL);
	if (f == NULL)
		return 1;
	fputs("line 1\nline 2\n", f);
	fclose(f);
	buf_puts(&file, ">");
	CHECK(buf_read_file(&file, path, 14, err, sizeof err));
	CHECK_STR(file.data, ">line 1\nline 2\n");
	CHECK_INT(file.len, 15);
	CHECK(!buf_read_file(&file, path, 13, err, sizeof err));
	CHECK(strncmp(err, path, strlen(path)) == 0);
	CHECK_STR(err + strlen(path), ": 14 bytes, larger than the limit of 13 bytes");
	CHECK_STR(file.data, ">line 1\nline 2\n"); /* unchanged */
	CHECK_INT(file.len, 15);
	buf_free(&file);
	CHECK(buf_read_file(&file, "/dev/null", 10, err, sizeof err) == false);
	CHECK_STR(err, "/dev/null: cannot read: not a regular file");
	CHECK(!buf_read_file(&file, "/tmp", 10, err, sizeof err));
	CHECK_STR(err, "/tmp: cannot read: not a regular file");
	unlink(path);
	CHECK(!buf_read_file(&file, path, 10, err, sizeof err));
	CHECK(strstr(err, ": cannot open: No such file or directory") != NULL);
	CHECK(file.data == NULL);
	/* an empty file is an empty string, not NULL */
	fd = open(path, O_CREAT | O_WRONLY | O_EXCL, 0600);
	CHECK(fd >= 0);
	close(fd);
	CHECK(buf_read_file(&file, path, 10, err, sizeof err));
	CHECK(file.data != NULL && file.len == 0 && file.data[0] == '\0');
	buf_free(&file);
	unlink(path);
	CHECK_DONE();
}
