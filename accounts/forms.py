from django import forms

MAX_AVATAR_BYTES = 2 * 1024 * 1024


class ProfileForm(forms.Form):
    display_name = forms.CharField(max_length=80, required=False)
    phone = forms.RegexField(
        regex=r"^\+?[0-9 ]{7,20}$",
        required=False,
        max_length=20,
        error_messages={"invalid": "Enter a phone number of 7 to 20 digits, optionally with +."},
    )
    avatar = forms.ImageField(required=False)

    def clean_avatar(self):
        avatar = self.cleaned_data.get("avatar")
        if avatar and avatar.size > MAX_AVATAR_BYTES:
            raise forms.ValidationError("The picture must be at most 2 MB.")
        return avatar
