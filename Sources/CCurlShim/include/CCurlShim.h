#ifndef SLAWATCH_CCURLSHIM_H
#define SLAWATCH_CCURLSHIM_H
#include <curl/curl.h>

// Swift cannot call C variadic functions; these give curl_easy_setopt, curl_easy_getinfo and
// curl_multi_setopt one typed entry point per argument kind.
CURLcode slawatch_curl_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode slawatch_curl_setopt_ptr(CURL *handle, CURLoption option, const void *value);
CURLcode slawatch_curl_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value);
CURLcode slawatch_curl_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value);
CURLcode slawatch_curl_setopt_write_callback(CURL *handle, size_t (*callback)(char *, size_t, size_t, void *));
CURLcode slawatch_curl_setopt_read_callback(CURL *handle, size_t (*callback)(char *, size_t, size_t, void *));
CURLcode slawatch_curl_getinfo_long(CURL *handle, CURLINFO info, long *value);
CURLcode slawatch_curl_getinfo_double(CURL *handle, CURLINFO info, double *value);
CURLcode slawatch_curl_getinfo_off_t(CURL *handle, CURLINFO info, curl_off_t *value);
CURLcode slawatch_curl_getinfo_ptr(CURL *handle, CURLINFO info, void **value);
CURLMcode slawatch_curl_multi_setopt_long(CURLM *multi, CURLMoption option, long value);

// Added for CurlTransport: the remaining callback kinds, and the recipient-failure option whose name
// changed in libcurl 8.2 (CURLOPT_MAIL_RCPT_ALLLOWFAILS before, CURLOPT_MAIL_RCPT_ALLOWFAILS after).
CURLcode slawatch_curl_setopt_header_callback(CURL *handle, size_t (*callback)(char *, size_t, size_t, void *));
CURLcode slawatch_curl_setopt_debug_callback(
    CURL *handle, int (*callback)(CURL *, curl_infotype, char *, size_t, void *));
CURLcode slawatch_curl_setopt_mail_rcpt_allowfails(CURL *handle, long allow);

// curl_version_info(CURLVERSION_NOW): the macro names an enum constant, which Swift does not import.
const curl_version_info_data *slawatch_curl_version_info(void);
#endif
