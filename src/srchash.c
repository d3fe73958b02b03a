/*
 * srchash.c - SipHash of sources through OpenSSL's EVP_MAC (see srchash.h).
 *
 * The MAC implementation is fetched once per hasher; each hash re-initialises the context with
 * its key and rounds.  OpenSSL's default output is 16 bytes, which is SipHash-128 with a
 * different initialisation, not a longer form of the 8-byte tag: the size must be set to 8.
 *
 * A failed OpenSSL call becomes an errno through sslerr.h: ENOMEM when OpenSSL could not
 * allocate, whichever call it was.  Otherwise: ENOSYS for the fetch (no SIPHASH: a provider
 * configuration without it), ENOMEM for the context (allocating is all EVP_MAC_CTX_new does,
 * ours and the provider's), and EIO for init, update and final, which allocate nothing for
 * SipHash and so fail only on a fault inside OpenSSL, which no errno names; EIO is the nearest.
 */
#include "pycinspect/srchash.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "sslerr.h"

#define READ_BUF_SIZE ((size_t)256 * 1024)

struct pyci_hasher {
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx;
	unsigned char *buf;
};

pyci_hasher *pyci_hasher_new(void)
{
	pyci_hasher *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->buf = malloc(READ_BUF_SIZE);
	if (!h->buf)
		goto fail;
	h->mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL);
	if (!h->mac) {
		(void)pyci_ssl_errno(ENOSYS);
		goto fail;
	}
	h->ctx = EVP_MAC_CTX_new(h->mac);
	if (!h->ctx) {
		(void)pyci_ssl_errno(ENOMEM);
		goto fail;
	}
	return h;
fail:;
	int saved = errno;
	pyci_hasher_free(h);
	errno = saved;
	return NULL;
}

void pyci_hasher_free(pyci_hasher *h)
{
	if (!h)
		return;
	EVP_MAC_CTX_free(h->ctx);
	EVP_MAC_free(h->mac);
	free(h->buf);
	free(h);
}

void pyci_srchash_rounds(const pyci_magic_info *m, int *c_rounds, int *d_rounds)
{
	pyci_magic_siphash_rounds(m, c_rounds, d_rounds); /* a fact of the interpreter: magic.c's */
}

static int begin(pyci_hasher *h, uint32_t k0, int c_rounds, int d_rounds)
{
	unsigned char key[16] = {0};
	for (int i = 0; i < 4; i++)
		key[i] = (unsigned char)(k0 >> (8 * i));
	size_t size = 8;
	unsigned int c = (unsigned int)c_rounds, d = (unsigned int)d_rounds;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
		OSSL_PARAM_construct_uint("c-rounds", &c),
		OSSL_PARAM_construct_uint("d-rounds", &d),
		OSSL_PARAM_construct_end(),
	};
	if (EVP_MAC_init(h->ctx, key, sizeof(key), params) != 1) {
		(void)pyci_ssl_errno(EIO);
		return -1;
	}
	return 0;
}

static int finish(pyci_hasher *h, uint8_t out[8])
{
	size_t outl = 0;
	if (EVP_MAC_final(h->ctx, out, &outl, 8) != 1 || outl != 8) {
		(void)pyci_ssl_errno(EIO);
		return -1;
	}
	return 0;
}

int pyci_srchash_buf(pyci_hasher *h, uint32_t k0, int c_rounds, int d_rounds, const void *data,
		     size_t len, uint8_t out[8])
{
	if (begin(h, k0, c_rounds, d_rounds) != 0)
		return -1;
	if (len && EVP_MAC_update(h->ctx, data, len) != 1) {
		(void)pyci_ssl_errno(EIO);
		return -1;
	}
	return finish(h, out);
}

int pyci_srchash_fd(pyci_hasher *h, uint32_t k0, int c_rounds, int d_rounds, int fd, uint8_t out[8],
		    uint64_t *nread)
{
	uint64_t total = 0;
	if (begin(h, k0, c_rounds, d_rounds) != 0)
		return -1;
	for (;;) {
		ssize_t n = read(fd, h->buf, READ_BUF_SIZE);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		if (EVP_MAC_update(h->ctx, h->buf, (size_t)n) != 1) {
			(void)pyci_ssl_errno(EIO);
			return -1;
		}
		total += (uint64_t)n;
	}
	if (nread)
		*nread = total;
	return finish(h, out);
}
