/* The webhook URL check (src/url_guard.c). Expected classes come from the IANA Special-Purpose Address Registries
 * (RFC 6890, 6598, 8215), written out here address by address, with the first and last address of a range and
 * the neighbours outside it; the refused URL forms are those issue 12 lists. Names are resolved with the
 * machine's resolver: only "localhost" (in every /etc/hosts) and numeric hosts, so no network is needed. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "check.h"
#include "url_guard.h"

static const char *
class_of(const char *text)
{
	struct sockaddr_storage ss = {0};

	if (strchr(text, ':') != NULL) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		in6->sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, text, &in6->sin6_addr) != 1)
			return "(unparsable)";
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		in->sin_family = AF_INET;
		if (inet_pton(AF_INET, text, &in->sin_addr) != 1)
			return "(unparsable)";
	}
	return url_address_class((const struct sockaddr *)&ss);
}

static void
test_address_classes(void)
{
	static const struct {
		const char *addr, *class; /* class NULL: an ordinary public address */
	} cases[] = {
		{"0.0.0.0", "unspecified"},
		{"0.255.255.255", "unspecified"},
		{"1.0.0.0", NULL},
		{"9.255.255.255", NULL},
		{"10.0.0.0", "private"},
		{"10.0.0.1", "private"},
		{"10.255.255.255", "private"},
		{"11.0.0.0", NULL},
		{"100.63.255.255", NULL},
		{"100.64.0.0", "cgnat"},
		{"100.127.255.255", "cgnat"},
		{"100.128.0.0", NULL},
		{"126.255.255.255", NULL},
		{"127.0.0.1", "loopback"},
		{"127.255.255.255", "loopback"},
		{"128.0.0.0", NULL},
		{"169.253.255.255", NULL},
		{"169.254.169.254", "link-local"}, /* cloud metadata */
		{"169.255.0.0", NULL},
		{"172.15.255.255", NULL},
		{"172.16.0.0", "private"},
		{"172.31.255.255", "private"},
		{"172.32.0.0", NULL},
		{"192.0.0.8", "reserved"},
		{"192.0.2.1", "documentation"},
		{"192.88.99.1", "reserved"},
		{"192.167.255.255", NULL},
		{"192.168.0.0", "private"},
		{"192.168.255.255", "private"},
		{"192.169.0.0", NULL},
		{"198.17.255.255", NULL},
		{"198.18.0.0", "reserved"},
		{"198.19.255.255", "reserved"},
		{"198.20.0.0", NULL},
		{"198.51.100.7", "documentation"},
		{"203.0.113.7", "documentation"},
		{"223.255.255.255", NULL},
		{"224.0.0.1", "multicast"},
		{"239.255.255.255", "multicast"},
		{"240.0.0.0", "reserved"},
		{"255.255.255.255", "reserved"},
		{"93.184.215.14", NULL},
		{"::", "unspecified"},
		{"::1", "loopback"},
		{"::2", "unspecified"}, /* IPv4-compatible ::0.0.0.2, in 0.0.0.0/8 */
		{"::ffff:127.0.0.1", "loopback"},
		{"::ffff:10.1.2.3", "private"},
		{"::ffff:169.254.169.254", "link-local"},
		{"::ffff:93.184.215.14", NULL},
		{"::127.0.0.1", "loopback"},        /* IPv4-compatible, deprecated */
		{"::93.184.215.14", "reserved"},    /* IPv4-compatible of a public address: still deprecated */
		{"64:ff9b::127.0.0.1", "loopback"}, /* NAT64 of a loopback address */
		{"64:ff9b::93.184.215.14", NULL},
		{"64:ff9b:1::1", "private"},
		{"2002:7f00:1::1", "loopback"}, /* 6to4 of 127.0.0.1 */
		{"2002:5db8:d70e::1", NULL},    /* 6to4 of 93.184.215.14 */
		{"100::1", "reserved"},
		{"2001::1", "reserved"},
		/* Teredo */ {"2001:db8::1", "documentation"},
		{"3fff::1", "documentation"},
		{"5f00::1", "reserved"},
		{"::ffff:0:7f00:1", "reserved"}, /* IPv4-translated 127.0.0.1 */
		{"2606:2800:21f:cb07:6820:80da:af6b:8b2c", NULL},
		{"fc00::1", "private"},
		{"fdff:ffff::1", "private"},
		{"fe80::1", "link-local"},
		{"febf::1", "link-local"},
		{"fec0::1", "private"},
		{"ff02::1", "multicast"},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *got = class_of(cases[i].addr);

		if ((got == NULL) != (cases[i].class == NULL) || (got != NULL && strcmp(got, cases[i].class) != 0))
			fprintf(stderr, "%s: class %s, expected %s\n", cases[i].addr, got ? got : "public",
				cases[i].class ? cases[i].class : "public");
		CHECK_STR(got, cases[i].class);
	}
}

static void
test_net_parse(void)
{
	struct url_net net;

	CHECK(url_net_parse("127.0.0.0/8", &net) && net.prefix == 104 && net.addr[10] == 0xff && net.addr[12] == 127);
	CHECK(url_net_parse("::1", &net) && net.prefix == 128 && net.addr[15] == 1);
	CHECK(url_net_parse("10.0.0.1", &net) && net.prefix == 128);
	CHECK(url_net_parse("fd00::/8", &net) && net.prefix == 8);
	CHECK(!url_net_parse("127.0.0.0/33", &net));
	CHECK(!url_net_parse("::/129", &net));
	CHECK(!url_net_parse("127.0.0.0/", &net));
	CHECK(!url_net_parse("127.0.0.0/-1", &net));
	CHECK(!url_net_parse("127.0.0.0/8x", &net));
	CHECK(!url_net_parse("localhost", &net));
	CHECK(!url_net_parse("", &net));
	CHECK(!url_net_parse("/8", &net));
}

static void
test_networks_parse(void)
{
	struct url_net nets[3];
	size_t n = 99;

	CHECK(url_networks_parse("", nets, 3, &n) && n == 0);
	CHECK(url_networks_parse(" 127.0.0.0/8, ::1 ,10.1.0.0/16", nets, 3, &n) && n == 3);
	CHECK(nets[0].prefix == 104 && nets[1].prefix == 128 && nets[2].prefix == 112);
	CHECK(!url_networks_parse("127.0.0.0/8,", nets, 3, &n)); /* a trailing comma */
	CHECK(!url_networks_parse(",127.0.0.0/8", nets, 3, &n)); /* an empty item */
	CHECK(!url_networks_parse("127.0.0.0/8,,::1", nets, 3, &n));
	CHECK(!url_networks_parse("127.0.0.0/8,localhost", nets, 3, &n));
	CHECK(!url_networks_parse("1.0.0.0/8,2.0.0.0/8,3.0.0.0/8,4.0.0.0/8", nets, 3, &n));  /* more than fit */
	CHECK(url_networks_parse("1.0.0.0/8,2.0.0.0/8,3.0.0.0/8,4.0.0.0/8", NULL, 0, NULL)); /* only checked */
}

/* Whether a client's address (text, as nginx's $remote_addr) is in a list: /metrics' check. */
static void
test_networks_contain(void)
{
	struct url_net nets[3];
	size_t n = 0;

	CHECK(url_networks_parse("127.0.0.1/32, ::1, 10.1.0.0/16", nets, 3, &n) && n == 3);
	CHECK(url_networks_contain(nets, n, "127.0.0.1"));
	CHECK(!url_networks_contain(nets, n, "127.0.0.2"));
	CHECK(url_networks_contain(nets, n, "::1"));
	CHECK(url_networks_contain(nets, n, "::ffff:127.0.0.1")); /* the same address, IPv4-mapped */
	CHECK(url_networks_contain(nets, n, "10.1.255.254"));
	CHECK(!url_networks_contain(nets, n, "10.2.0.1"));
	CHECK(!url_networks_contain(nets, n, "10.1.0.0/16")); /* a network is no client */
	CHECK(!url_networks_contain(nets, n, "localhost"));
	CHECK(!url_networks_contain(nets, n, ""));
	CHECK(!url_networks_contain(nets, n, NULL));
	CHECK(!url_networks_contain(nets, 0, "127.0.0.1")); /* an empty list lets nobody in */
}

static enum url_verdict
check(const struct url_policy *policy, const char *url, char *detail, size_t len)
{
	enum url_verdict v = url_guard_check(policy, url, detail, len);

	if (v != URL_OK)
		fprintf(stderr, "(%s: %s)\n", url, detail);
	return v;
}

static void
test_refused_forms(void)
{
	static const struct url_policy strict = {0};
	static const char *const loopback[] = {
		"https://127.0.0.1/hook",  "https://[::1]/hook",         "https://[::ffff:127.0.0.1]/hook",
		"https://2130706433/hook", "https://0x7f.1/hook",        "https://localhost/hook",
		"https://127.1:8443/hook", "https://LOCALHOST/x",        "https://[0:0:0:0:0:ffff:7f00:1]/",
		"https://0177.0.0.1/hook", "https://[64:ff9b::7f00:1]/",
	};
	char detail[256];

	for (size_t i = 0; i < sizeof loopback / sizeof loopback[0]; i++) {
		CHECK_INT(check(&strict, loopback[i], detail, sizeof detail), URL_FORBIDDEN);
		CHECK(strstr(detail, "loopback") != NULL);
	}
	/* a trailing dot: not in /etc/hosts here; refused either way (a resolver that finds it finds 127.0.0.1) */
	CHECK(check(&strict, "https://localhost./x", detail, sizeof detail) != URL_OK);
	CHECK_INT(check(&strict, "https://169.254.169.254/latest/meta-data/", detail, sizeof detail), URL_FORBIDDEN);
	CHECK(strstr(detail, "link-local") != NULL);
	CHECK_INT(check(&strict, "https://10.0.0.1/", detail, sizeof detail), URL_FORBIDDEN);
	CHECK_INT(check(&strict, "https://100.64.1.1/", detail, sizeof detail), URL_FORBIDDEN);
	CHECK_INT(check(&strict, "https://0.0.0.0/", detail, sizeof detail), URL_FORBIDDEN);
	CHECK_INT(check(&strict, "https://[::]/", detail, sizeof detail), URL_FORBIDDEN);
	CHECK_INT(check(&strict, "https://224.0.0.1/", detail, sizeof detail), URL_FORBIDDEN);
	CHECK_INT(check(&strict, "https://[fe80::1]/", detail, sizeof detail), URL_FORBIDDEN);

	/* user information, even with a public address; the detail does not repeat it */
	CHECK_INT(check(&strict, "https://hook:s3cret@93.184.215.14/", detail, sizeof detail), URL_USERINFO);
	CHECK(strstr(detail, "s3cret") == NULL);
	CHECK_INT(check(&strict, "https://hook@93.184.215.14/", detail, sizeof detail), URL_USERINFO);
	CHECK_INT(check(&strict, "https://:pw@93.184.215.14/", detail, sizeof detail), URL_USERINFO);

	/* schemes */
	CHECK_INT(check(&strict, "http://93.184.215.14/", detail, sizeof detail), URL_SCHEME);
	CHECK_INT(check(&strict, "ftp://93.184.215.14/", detail, sizeof detail), URL_SCHEME);
	CHECK_INT(check(&strict, "gopher://93.184.215.14/", detail, sizeof detail), URL_SCHEME);
	CHECK_INT(check(&strict, "file:///etc/passwd", detail, sizeof detail), URL_SCHEME);

	/* not URLs */
	CHECK_INT(check(&strict, "", detail, sizeof detail), URL_SYNTAX);
	CHECK_INT(check(&strict, "/relative/path", detail, sizeof detail), URL_SYNTAX);
	CHECK_INT(check(&strict, "https://", detail, sizeof detail), URL_SYNTAX);
	CHECK_INT(check(&strict, "https://exa mple.com/", detail, sizeof detail), URL_SYNTAX);
	CHECK_INT(check(&strict, "https://no-such-host.invalid/", detail, sizeof detail), URL_UNRESOLVED);
}

static void
test_allowed(void)
{
	static const struct url_policy strict = {0};
	struct url_net nets[2];
	struct url_policy tests = {.allow_http = true, .allow = nets, .nallow = 2};
	char detail[256];

	CHECK(url_net_parse("127.0.0.0/8", &nets[0]) && url_net_parse("::1", &nets[1]));
	CHECK_INT(check(&strict, "https://93.184.215.14/hook?x=1", detail, sizeof detail), URL_OK);
	CHECK_INT(check(&strict, "HTTPS://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]:8443/", detail, sizeof detail),
		  URL_OK);
	/* the tests' receiver: loopback opened by the allow list, http allowed */
	CHECK_INT(check(&tests, "http://127.0.0.1:9/hook", detail, sizeof detail), URL_OK);
	CHECK_INT(check(&tests, "https://[::1]:9/hook", detail, sizeof detail), URL_OK);
	CHECK_INT(check(&tests, "https://[::ffff:127.0.0.1]/", detail, sizeof detail), URL_OK);
	CHECK_INT(check(&tests, "http://localhost:9/", detail, sizeof detail), URL_OK);
	/* the allow list opens only what it lists */
	CHECK_INT(check(&tests, "https://10.0.0.1/", detail, sizeof detail), URL_FORBIDDEN);
	CHECK_INT(check(&tests, "https://169.254.169.254/", detail, sizeof detail), URL_FORBIDDEN);
	CHECK_INT(check(&tests, "ftp://127.0.0.1/", detail, sizeof detail), URL_SCHEME);
	CHECK_INT(check(&tests, "http://u:p@127.0.0.1/", detail, sizeof detail), URL_USERINFO);
}

/* Run inside a mount namespace whose /etc/hosts is tests/data/url_guard/hosts (unit.url_guard_names): names
 * that resolve to romtrack's own networks are refused by what they resolve to, not by how they look. */
static void
test_names(void)
{
	static const struct url_policy strict = {0};
	char detail[256];

	CHECK_INT(check(&strict, "https://hook.internal.test/hook", detail, sizeof detail), URL_FORBIDDEN);
	CHECK(strstr(detail, "10.0.0.1") != NULL && strstr(detail, "private") != NULL);
	CHECK_INT(check(&strict, "https://metadata.test/latest/meta-data/", detail, sizeof detail), URL_FORBIDDEN);
	CHECK(strstr(detail, "link-local") != NULL);
	CHECK_INT(check(&strict, "https://v6-loopback.test/", detail, sizeof detail), URL_FORBIDDEN);
	CHECK_INT(check(&strict, "https://mapped-loopback.test/", detail, sizeof detail), URL_FORBIDDEN);
	CHECK(strstr(detail, "loopback") != NULL);
	CHECK_INT(check(&strict, "https://public.test/hook", detail, sizeof detail), URL_OK);
}

int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--names") == 0) {
		test_names();
		CHECK_DONE();
	}
	test_address_classes();
	test_net_parse();
	test_networks_parse();
	test_networks_contain();
	test_refused_forms();
	test_allowed();
	CHECK_DONE();
}
