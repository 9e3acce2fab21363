package vncclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math/rand/v2"
	"net/http"
	"time"
)

// RetryPolicy bounds the retries of a request. A request is retried only
// when no response arrived or the response was 502, 503 or 504, which a
// proxy or a restarting API server sends. "No response" covers a refused or
// reset connection and a timeout, but not a server certificate that failed
// verification. Any other status, 4xx or 5xx, is returned at once. The wait
// before retry n is InitialBackoff*2^(n-1), at most MaxBackoff, with the
// upper half of it randomized so that clients do not retry in step.
type RetryPolicy struct {
	// MaxAttempts bounds the attempts of one request, the first included.
	// Zero or one means no retries.
	MaxAttempts int
	// InitialBackoff is the wait before the first retry. Zero means 100ms.
	InitialBackoff time.Duration
	// MaxBackoff caps the wait between attempts. Zero means no cap.
	MaxBackoff time.Duration
	// MaxElapsed bounds the time from the first attempt to the start of
	// the last one: no retry starts after it. Zero means only MaxAttempts
	// bounds retries. An attempt in flight runs until the http.Client
	// timeout or the context ends it.
	MaxElapsed time.Duration
}

// DefaultRetryPolicy returns the policy New sets: at most four attempts,
// none started later than ten seconds after the first, with waits of
// 100-200ms, 200-400ms and 400-800ms between them.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{
		MaxAttempts:    4,
		InitialBackoff: 200 * time.Millisecond,
		MaxBackoff:     2 * time.Second,
		MaxElapsed:     10 * time.Second,
	}
}

func (p RetryPolicy) attempts() int {
	return max(p.MaxAttempts, 1)
}

// delay returns the jittered wait after the given attempt (1 for the first).
func (p RetryPolicy) delay(attempt int) time.Duration {
	d := p.InitialBackoff
	if d <= 0 {
		d = 100 * time.Millisecond
	}
	for i := 1; i < attempt; i++ {
		if p.MaxBackoff > 0 && d >= p.MaxBackoff {
			break
		}
		if d > time.Hour {
			// Stop doubling long before the duration could overflow.
			break
		}
		d *= 2
	}
	if p.MaxBackoff > 0 && d > p.MaxBackoff {
		d = p.MaxBackoff
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// transientError is a failure that a retry may cure: no response arrived,
// or Keystone was unavailable.
type transientError struct {
	err error
}

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

// isTransient reports whether err may go away on retry.
func isTransient(err error) bool {
	var transient *transientError
	if errors.As(err, &transient) {
		return true
	}
	var apiErr *APIError
	return errors.As(err, &apiErr) && transientStatus(apiErr.StatusCode)
}

// transientStatus reports whether an HTTP status means "try again later":
// 502, 503 or 504.
func transientStatus(code int) bool {
	switch code {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// certificateError reports whether err is a failed verification of the
// server's certificate, which no retry cures.
func certificateError(err error) bool {
	var verifyErr *tls.CertificateVerificationError
	var unknownAuthority x509.UnknownAuthorityError
	var hostnameErr x509.HostnameError
	var invalidErr x509.CertificateInvalidError
	return errors.As(err, &verifyErr) || errors.As(err, &unknownAuthority) ||
		errors.As(err, &hostnameErr) || errors.As(err, &invalidErr)
}

// sleep waits for d or until ctx is done, and then returns ctx's error.
func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
