/* Whether romtrack may call a subscriber's URL (webhooks, issue 12): https only (http when the configuration
 * allows it), no user information, and no address of romtrack's own networks: loopback, private, link-local
 * (cloud metadata), CGNAT, multicast, unspecified and the other special-purpose ranges of RFC 6890's registries,
 * in IPv4, IPv6 and IPv4-mapped or -embedded IPv6 forms. An allow list of networks in the configuration opens
 * some of them (the tests' loopback receiver); nothing else does.
 *
 * The URL is checked when a subscription is made (url_guard_check, which resolves its host), and the address
 * of each connection again when it is made (url_guard_address, from libcurl's socket callback): DNS may answer
 * differently between the two. */
#ifndef URL_GUARD_H
#define URL_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* A network: an address and a prefix length, IPv4 addresses kept as IPv4-mapped IPv6. */
struct url_net {
	unsigned char addr[16];
	unsigned prefix; /* 0..128 */
};

struct url_policy {
	bool allow_http;
	const struct url_net *allow; /* networks that may be called although special-purpose */
	size_t nallow;
};

enum url_verdict {
	URL_OK,
	URL_SYNTAX,     /* not a URL libcurl parses, or without a host */
	URL_SCHEME,     /* not https (nor http when allowed) */
	URL_USERINFO,   /* user or password in the URL */
	URL_UNRESOLVED, /* the host has no address */
	URL_FORBIDDEN,  /* an address of the host is special-purpose and not allowed */
};

/* Parses "ADDRESS/PREFIX" or a bare address (a /32 or /128): IPv4 dotted quad or IPv6. */
bool url_net_parse(const char *text, struct url_net *out);

/* Parses a comma-separated list of networks (blanks around each allowed; "" is none) into out[0..max) and *n
 * (out may be NULL to only check the list). False when an item is not a network or there are more than max. */
bool url_networks_parse(const char *text, struct url_net *out, size_t max, size_t *n);
#define URL_NETWORKS_MAX 64

/* Whether an address, as text (nginx's $remote_addr), is in one of nets[0..n); false when it is no address. */
bool url_networks_contain(const struct url_net *nets, size_t n, const char *address);

/* The special-purpose class of an address ("loopback", "private", "link-local", "cgnat", "multicast",
 * "unspecified", "reserved", ...), or NULL for an ordinary public address. IPv4-mapped, IPv4-compatible, NAT64
 * (64:ff9b::/96) and 6to4 (2002::/16) addresses are judged by the IPv4 address they carry. */
const char *url_address_class(const struct sockaddr *sa);

/* Whether a connection to sa may be made: a public address, or one in policy's allow list. *why (when not NULL)
 * is set to the class of a refused address. */
bool url_guard_address(const struct url_policy *policy, const struct sockaddr *sa, const char **why);

/* Checks url against policy, resolving its host (getaddrinfo; every address must pass). detail[0..len) says
 * what was wrong for anything but URL_OK (the URL's host and the refused address or class; never the URL's
 * user information). */
enum url_verdict url_guard_check(const struct url_policy *policy, const char *url, char *detail, size_t len);

#endif
