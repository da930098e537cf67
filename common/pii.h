/* Personal fields sealed with a per-account key (libsodium's crypto_secretbox, random nonce), so
 * deleting the key forgets them without rewriting events. Pure apart from the random bytes. */
#ifndef ORDERLY_PII_H
#define ORDERLY_PII_H

#include <stdbool.h>
#include <stddef.h>

#define PII_KEY_BYTES   32 /* crypto_secretbox_KEYBYTES */
#define PII_KEY_HEX_LEN (PII_KEY_BYTES * 2 + 1)
#define PII_PREFIX      "enc:v1:" /* then base64 (RFC 4648, padded) of nonce || ciphertext */

/* Initialises libsodium once; false if it cannot be used (then nothing can be sealed). Every
 * function below calls it, so callers need not. */
bool pii_init(void) __attribute__((warn_unused_result));

/* A fresh random key. Callers wipe keys with pii_wipe when done. */
void pii_key_new(unsigned char key[PII_KEY_BYTES]);
void pii_key_to_hex(const unsigned char key[PII_KEY_BYTES], char hex[PII_KEY_HEX_LEN]);
/* false unless hex is exactly 64 hex digits. */
bool pii_key_from_hex(const char *hex, unsigned char key[PII_KEY_BYTES])
    __attribute__((warn_unused_result));
void pii_wipe(void *p, size_t n);

/* True if stored has the sealed form's prefix (the rest may still be garbage). */
bool pii_is_sealed(const char *stored);

/* Seals plain into out as PII_PREFIX + base64. false if out (cap bytes) is too small or libsodium
 * is unusable; out is then "". */
bool pii_seal(const unsigned char key[PII_KEY_BYTES], const char *plain, char *out, size_t cap)
    __attribute__((warn_unused_result));

/* Opens a sealed text into out. false (out "") when it is not sealed, not valid base64, fails
 * authentication (wrong key, edited bytes), holds a NUL, or does not fit in cap bytes. */
bool pii_open(const unsigned char key[PII_KEY_BYTES], const char *sealed, char *out, size_t cap)
    __attribute__((warn_unused_result));

/* What readers show: stored itself when it is not sealed (rows from before sealing, plain SQL),
 * the opened text when key (may be NULL: deleted) opens it, else OWNER_FORGOTTEN. out must
 * not overlap stored. */
void pii_reveal(const char *stored, const unsigned char *key, char *out, size_t cap);
/* pii_reveal of text (cap bytes) into itself. */
void pii_reveal_in_place(char *text, size_t cap, const unsigned char *key);

#endif
