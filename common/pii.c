/* Sealing and opening personal fields with libsodium's crypto_secretbox (XSalsa20-Poly1305):
 * the text form, key hex form and the reader's rule (plain, opened, or forgotten). */
#include "pii.h"

#include "domain/domain.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PII_PLAIN_MAX  1024 /* longer texts are refused rather than sealed */
#define PII_PREFIX_LEN (sizeof PII_PREFIX - 1)
#define PII_BOX_MAX    (crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + PII_PLAIN_MAX)
#define PII_B64        sodium_base64_VARIANT_ORIGINAL

_Static_assert(PII_KEY_BYTES == crypto_secretbox_KEYBYTES, "key size");
/* A sealed owner of TEXT_MAX bytes must fit the domain's buffers. */
_Static_assert(
    PII_PREFIX_LEN +
            ((crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + TEXT_MAX + 2) / 3) * 4 <=
        OWNER_STORED_MAX,
    "OWNER_STORED_MAX too small for a sealed owner");

static pthread_once_t pii_once = PTHREAD_ONCE_INIT;
static bool pii_ready;

static void pii_init_once(void)
{
    pii_ready = sodium_init() >= 0;
}

bool pii_init(void)
{
    pthread_once(&pii_once, pii_init_once);
    return pii_ready;
}

void pii_key_new(unsigned char key[PII_KEY_BYTES])
{
    if (!pii_init())
        abort(); /* no randomness: refusing beats sealing with a predictable key */
    crypto_secretbox_keygen(key);
}

void pii_key_to_hex(const unsigned char key[PII_KEY_BYTES], char hex[PII_KEY_HEX_LEN])
{
    sodium_bin2hex(hex, PII_KEY_HEX_LEN, key, PII_KEY_BYTES);
}

bool pii_key_from_hex(const char *hex, unsigned char key[PII_KEY_BYTES])
{
    size_t len = 0;
    const char *end = NULL;
    if (!pii_init() || strlen(hex) != PII_KEY_BYTES * 2)
        return false;
    return sodium_hex2bin(key, PII_KEY_BYTES, hex, PII_KEY_BYTES * 2, NULL, &len, &end) == 0 &&
           len == PII_KEY_BYTES && *end == '\0';
}

void pii_wipe(void *p, size_t n)
{
    sodium_memzero(p, n);
}

bool pii_is_sealed(const char *stored)
{
    return strncmp(stored, PII_PREFIX, PII_PREFIX_LEN) == 0;
}

bool pii_seal(const unsigned char key[PII_KEY_BYTES], const char *plain, char *out, size_t cap)
{
    unsigned char box[PII_BOX_MAX];
    size_t len = strlen(plain);
    size_t box_len = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + len;
    if (cap > 0)
        out[0] = '\0';
    /* sodium_bin2base64 aborts on a short buffer, so the size is checked first. */
    if (!pii_init() || len > PII_PLAIN_MAX ||
        cap < PII_PREFIX_LEN + sodium_base64_ENCODED_LEN(box_len, PII_B64))
        return false;
    randombytes_buf(box, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES, (const unsigned char *)plain, len, box,
                          key);
    memcpy(out, PII_PREFIX, PII_PREFIX_LEN);
    sodium_bin2base64(out + PII_PREFIX_LEN, cap - PII_PREFIX_LEN, box, box_len, PII_B64);
    return true;
}

bool pii_open(const unsigned char key[PII_KEY_BYTES], const char *sealed, char *out, size_t cap)
{
    unsigned char box[PII_BOX_MAX], plain[PII_PLAIN_MAX + 1];
    size_t box_len = 0;
    const char *end = NULL;
    if (cap > 0)
        out[0] = '\0';
    if (!pii_init() || !pii_is_sealed(sealed))
        return false;
    const char *b64 = sealed + PII_PREFIX_LEN;
    if (sodium_base642bin(box, sizeof box, b64, strlen(b64), NULL, &box_len, &end, PII_B64) != 0 ||
        *end != '\0' || box_len < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
        return false;
    size_t len = box_len - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
    bool ok = crypto_secretbox_open_easy(plain, box + crypto_secretbox_NONCEBYTES,
                                         box_len - crypto_secretbox_NONCEBYTES, box, key) == 0 &&
              len < cap && memchr(plain, '\0', len) == NULL;
    if (ok) {
        memcpy(out, plain, len);
        out[len] = '\0';
    }
    sodium_memzero(plain, sizeof plain);
    return ok;
}

void pii_reveal(const char *stored, const unsigned char *key, char *out, size_t cap)
{
    if (!pii_is_sealed(stored))
        snprintf(out, cap, "%s", stored);
    else if (!key || !pii_open(key, stored, out, cap))
        snprintf(out, cap, "%s", OWNER_FORGOTTEN);
}

void pii_reveal_in_place(char *text, size_t cap, const unsigned char *key)
{
    char plain[PII_PLAIN_MAX + 1];
    if (!pii_is_sealed(text))
        return;
    pii_reveal(text, key, plain, cap < sizeof plain ? cap : sizeof plain);
    snprintf(text, cap, "%s", plain);
    pii_wipe(plain, sizeof plain);
}
