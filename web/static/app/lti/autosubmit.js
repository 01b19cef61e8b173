// Posts the signed deep-linking response back to the platform as soon as the page loads
// (a file, not an inline script, so the strict CSP holds; the button is the fallback).
document.getElementById('lti-return')?.submit();
