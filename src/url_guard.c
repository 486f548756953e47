/* The webhook URL check (include/url_guard.h): libcurl's URL parser for the URL, getaddrinfo for its host, and a
 * table of the special-purpose networks for every address. */
#include "url_guard.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The IANA IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890 and its updates), and the multicast and
 * reserved blocks beside them. IPv4 networks are written as IPv4-mapped IPv6 (::ffff:a.b.c.d, prefix + 96). */
struct special {
	const char *net;
	const char *class;
};

static const struct special url__special[] = {
	{"::ffff:0.0.0.0/104", "unspecified"},        /* 0.0.0.0/8, "this network" */
	{"::ffff:10.0.0.0/104", "private"},           /* RFC 1918 */
	{"::ffff:100.64.0.0/106", "cgnat"},           /* RFC 6598, shared address space */
	{"::ffff:127.0.0.0/104", "loopback"},         /* RFC 1122 */
	{"::ffff:169.254.0.0/112", "link-local"},     /* RFC 3927; 169.254.169.254 is cloud metadata */
	{"::ffff:172.16.0.0/108", "private"},         /* RFC 1918 */
	{"::ffff:192.0.0.0/120", "reserved"},         /* IETF protocol assignments */
	{"::ffff:192.0.2.0/120", "documentation"},    /* TEST-NET-1 */
	{"::ffff:192.88.99.0/120", "reserved"},       /* 6to4 relay anycast, deprecated */
	{"::ffff:192.168.0.0/112", "private"},        /* RFC 1918 */
	{"::ffff:198.18.0.0/111", "reserved"},        /* benchmarking, RFC 2544 */
	{"::ffff:198.51.100.0/120", "documentation"}, /* TEST-NET-2 */
	{"::ffff:203.0.113.0/120", "documentation"},  /* TEST-NET-3 */
	{"::ffff:224.0.0.0/100", "multicast"},
	{"::ffff:240.0.0.0/100", "reserved"}, /* and 255.255.255.255, broadcast */
	{"::/128", "unspecified"},
	{"::1/128", "loopback"},
	{"::/96", "reserved"},         /* IPv4-compatible, deprecated (RFC 4291) */
	{"64:ff9b:1::/48", "private"}, /* local-use NAT64, RFC 8215 */
	{"100::/64", "reserved"},
	/* discard only, RFC 6666 */ {"2001:db8::/32", "documentation"},
	{"3fff::/20", "documentation"},  /* RFC 9637 */
	{"5f00::/16", "reserved"},       /* SRv6 SIDs, RFC 9602 */
	{"100:0:0:1::/64", "reserved"},  /* dummy prefix, RFC 9780 */
	{"::ffff:0:0:0/96", "reserved"}, /* IPv4-translated, RFC 2765 */
	{"2001::/23", "reserved"},       /* IETF protocol assignments, Teredo among them */
	{"fc00::/7", "private"},         /* unique local, RFC 4193 */
	{"fe80::/10", "link-local"},
	{"fec0::/10", "private"}, /* site-local, deprecated */
	{"ff00::/8", "multicast"},
};

bool
url_net_parse(const char *text, struct url_net *out)
{
	char addr[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(text, '/');
	size_t n = slash ? (size_t)(slash - text) : strlen(text);
	unsigned long prefix;
	struct in_addr v4;
	bool is_v4;

	if (n == 0 || n >= sizeof addr)
		return false;
	memcpy(addr, text, n);
	addr[n] = '\0';
	memset(out, 0, sizeof *out);
	is_v4 = inet_pton(AF_INET, addr, &v4) == 1;
	if (is_v4) {
		out->addr[10] = out->addr[11] = 0xff;
		memcpy(out->addr + 12, &v4, 4);
	} else if (inet_pton(AF_INET6, addr, out->addr) != 1) {
		return false;
	}
	if (slash == NULL) {
		out->prefix = 128;
		return true;
	}
	{
		char *end;
		const char *digits = slash + 1;

		if (*digits < '0' || *digits > '9')
			return false;
		prefix = strtoul(digits, &end, 10);
		if (*end != '\0' || prefix > (is_v4 ? 32UL : 128UL))
			return false;
	}
	out->prefix = (unsigned)prefix + (is_v4 ? 96U : 0U);
	return true;
}

bool
url_networks_parse(const char *text, struct url_net *out, size_t max, size_t *n)
{
	size_t count = 0;

	for (const char *p = text; *p != '\0';) {
		char item[INET6_ADDRSTRLEN + 8];
		const char *end = strchr(p, ',');
		size_t len;
		struct url_net net;

		if (end == NULL)
			end = p + strlen(p);
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		len = (size_t)(end - p);
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == 0 || len >= sizeof item)
			return false;
		memcpy(item, p, len);
		item[len] = '\0';
		if (!url_net_parse(item, &net))
			return false;
		if (out != NULL) {
			if (count == max)
				return false;
			out[count] = net;
		}
		count++;
		p = *end == ',' ? end + 1 : end;
		if (*end == ',' && *p == '\0')
			return false; /* a trailing comma */
	}
	if (n != NULL)
		*n = count;
	return out != NULL || count <= URL_NETWORKS_MAX;
}

static bool
url__in_net(const unsigned char addr[16], const struct url_net *net)
{
	unsigned whole = net->prefix / 8, rest = net->prefix % 8;

	if (memcmp(addr, net->addr, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (addr[whole] & mask) == (net->addr[whole] & mask);
}

bool
url_networks_contain(const struct url_net *nets, size_t n, const char *address)
{
	struct url_net a;

	if (address == NULL || strchr(address, '/') != NULL || !url_net_parse(address, &a))
		return false;
	for (size_t i = 0; i < n; i++)
		if (url__in_net(a.addr, &nets[i]))
			return true;
	return false;
}

/* sa as 16 bytes, IPv4 as IPv4-mapped IPv6; false for another family. */
static bool
url__as_v6(const struct sockaddr *sa, unsigned char out[16])
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;

		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &in->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
		return true;
	}
	return false;
}

static const char *
url__class_of(const unsigned char addr[16])
{
	static const unsigned char compat[12] = {0}, nat64[12] = {0, 0x64, 0xff, 0x9b};
	unsigned char v4[16] = {[10] = 0xff, [11] = 0xff};
	bool embeds = false;

	/* an IPv6 address carrying an IPv4 one is what that IPv4 address is */
	bool any_v4 = memcmp(addr, compat, 12) == 0 && !((addr[12] | addr[13] | addr[14]) == 0 && addr[15] <= 1);

	if (memcmp(addr, nat64, 12) == 0 || any_v4) { /* ::a.b.c.d, but not :: or ::1 */
		memcpy(v4 + 12, addr + 12, 4);
		embeds = true;
	} else if (addr[0] == 0x20 && addr[1] == 0x02) { /* 6to4: 2002:AABB:CCDD::/48 */
		memcpy(v4 + 12, addr + 2, 4);
		embeds = true;
	}
	if (embeds) {
		const char *class = url__class_of(v4);
		if (class != NULL)
			return class;
	}
	/* the table as networks, parsed once (the process is single-threaded) */
	static struct url_net nets[sizeof url__special / sizeof url__special[0]];
	static bool parsed;

	if (!parsed) {
		for (size_t i = 0; i < sizeof url__special / sizeof url__special[0]; i++)
			if (!url_net_parse(url__special[i].net, &nets[i]))
				abort(); /* cannot happen: the table is tested (unit.url_guard) */
		parsed = true;
	}
	for (size_t i = 0; i < sizeof url__special / sizeof url__special[0]; i++)
		if (url__in_net(addr, &nets[i]))
			return url__special[i].class;
	return NULL;
}

const char *
url_address_class(const struct sockaddr *sa)
{
	unsigned char addr[16];

	if (!url__as_v6(sa, addr))
		return "unspecified";
	return url__class_of(addr);
}

bool
url_guard_address(const struct url_policy *policy, const struct sockaddr *sa, const char **why)
{
	unsigned char addr[16];
	const char *class;

	if (why != NULL)
		*why = NULL;
	if (!url__as_v6(sa, addr)) {
		if (why != NULL)
			*why = "unspecified";
		return false;
	}
	class = url__class_of(addr);
	if (class == NULL)
		return true;
	for (size_t i = 0; i < policy->nallow; i++)
		if (url__in_net(addr, &policy->allow[i]))
			return true;
	if (why != NULL)
		*why = class;
	return false;
}

static enum url_verdict
url__fail(enum url_verdict v, char *detail, size_t len, const char *message)
{
	if (len > 0)
		snprintf(detail, len, "%s", message);
	return v;
}

static enum url_verdict
url__check_host(const struct url_policy *policy, const char *host, char *detail, size_t len)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
	char name[256];
	size_t n = strlen(host);
	enum url_verdict v = URL_OK;
	int rc;

	/* libcurl gives an IPv6 literal in brackets */
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		host++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof name)
		return url__fail(URL_SYNTAX, detail, len, "the host is empty or too long");
	memcpy(name, host, n);
	name[n] = '\0';
	rc = getaddrinfo(name, NULL, &hints, &res);
	if (rc != 0 || res == NULL) {
		if (len > 0)
			snprintf(detail, len, "the host \"%s\" has no address (%s)", name, gai_strerror(rc));
		return URL_UNRESOLVED;
	}
	for (const struct addrinfo *ai = res; ai != NULL && v == URL_OK; ai = ai->ai_next) {
		const char *why;
		char text[INET6_ADDRSTRLEN] = "?";

		if (url_guard_address(policy, ai->ai_addr, &why))
			continue;
		getnameinfo(ai->ai_addr, ai->ai_addrlen, text, sizeof text, NULL, 0, NI_NUMERICHOST);
		if (len > 0)
			snprintf(detail, len, "the host \"%s\" has the address %s, which is %s", name, text, why);
		v = URL_FORBIDDEN;
	}
	freeaddrinfo(res);
	return v;
}

enum url_verdict
url_guard_check(const struct url_policy *policy, const char *url, char *detail, size_t len)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *user = NULL, *password = NULL, *host = NULL;
	enum url_verdict v;

	if (len > 0)
		detail[0] = '\0';
	if (u == NULL)
		return url__fail(URL_SYNTAX, detail, len, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
		v = url__fail(URL_SYNTAX, detail, len, "not an absolute URL");
		goto out;
	}
	if (strcasecmp(scheme, "https") != 0 && !(policy->allow_http && strcasecmp(scheme, "http") == 0)) {
		if (len > 0)
			snprintf(detail, len, "the scheme is \"%s\"; only %s is allowed", scheme,
				 policy->allow_http ? "https or http" : "https");
		v = URL_SCHEME;
		goto out;
	}
	/* a user name without a password is user information too */
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PASSWORD, &password, 0) == CURLUE_OK) {
		v = url__fail(URL_USERINFO, detail, len, "the URL carries user information");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		v = url__fail(URL_SYNTAX, detail, len, "the URL has no host");
		goto out;
	}
	v = url__check_host(policy, host, detail, len);
out:
	curl_free(scheme);
	curl_free(user);
	curl_free(password);
	curl_free(host);
	curl_url_cleanup(u);
	return v;
}
