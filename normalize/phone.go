package normalize

import (
	"errors"
	"strings"

	"github.com/nyaruka/phonenumbers"

	"synclayer"
)

// Phone returns s in E.164 form ("+14155550123"), or an EINVALID error
// (Field "phone") when it is not a valid number. defaultRegion is the ISO
// 3166 country ("US", "GB") assumed for numbers written without a +country
// prefix; with "" such numbers are rejected, since their country is unknown.
func Phone(s, defaultRegion string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", synclayer.FieldErrorf(synclayer.FieldPhone, "the phone number is empty")
	}
	region := strings.ToUpper(strings.TrimSpace(defaultRegion))
	num, err := phonenumbers.Parse(s, region)
	if err != nil {
		why := "it cannot be read as a phone number"
		switch {
		case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
			why = "it has no valid country code; write it as +<country code><number>"
			if region == "" {
				why += " or configure a default region"
			}
		case errors.Is(err, phonenumbers.ErrTooShortNSN), errors.Is(err, phonenumbers.ErrTooShortAfterIDD):
			why = "it is too short"
		case errors.Is(err, phonenumbers.ErrNumTooLong):
			why = "it is too long"
		}
		return "", synclayer.FieldErrorf(synclayer.FieldPhone, "%q is not a valid phone number: %s", clip(s), why)
	}
	if !phonenumbers.IsValidNumber(num) {
		return "", synclayer.FieldErrorf(synclayer.FieldPhone, "%q is not a valid phone number: no number of that length and prefix exists in %s",
			clip(s), regionName(num, region))
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

func regionName(num *phonenumbers.PhoneNumber, fallback string) string {
	if r := phonenumbers.GetRegionCodeForCountryCode(int(num.GetCountryCode())); r != "" && r != "ZZ" {
		return r
	}
	if fallback != "" {
		return fallback
	}
	return "its country"
}
